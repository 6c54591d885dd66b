# s3watch — wait for objects under a prefix (regex, size, age, count, one exact key, timeout).
aws s3 mb s3://demo-s3watch >/dev/null
echo 'id,v' | aws s3 cp - s3://demo-s3watch/in/day1.csv
s3watch --regex '\.csv$' s3://demo-s3watch/in/
s3watch --format json s3://demo-s3watch/in/
( sleep 2; echo done | aws s3 cp - s3://demo-s3watch/in/batch.fin ) &
s3watch --key --interval 0.5 --timeout 30 s3://demo-s3watch/in/batch.fin && echo "flag arrived"
s3watch --once --min-size 1M s3://demo-s3watch/in/ || echo "exit $?: nothing that big"
s3watch --timeout 2s --interval 0.5s s3://demo-s3watch/never/ || echo "exit $?: timed out"
