# secretget — Secrets Manager secrets, with a JSON query built in (no jq needed).
aws secretsmanager create-secret --name demo/db --secret-string \
  '{"username":"app","password":"s3cr3t","hosts":[{"name":"db1"},{"name":"db2"}],"tls.mode":"verify"}' >/dev/null
aws secretsmanager create-secret --name demo/api-token --secret-string 'tok-123' >/dev/null
printf '\000\001binary\377' > $DEMO_TMP/demo.bin
aws secretsmanager create-secret --name demo/blob --secret-binary fileb://$DEMO_TMP/demo.bin >/dev/null
secretget demo/api-token
secretget demo/db --query password
secretget demo/db --query 'hosts[1].name'; secretget demo/db --query 'hosts.[0]'
secretget demo/db --query '["tls.mode"]'
secretget demo/db --query hosts                       # an array prints as compact JSON
secretget --format export demo/db demo/api-token      # USERNAME=..., PASSWORD=..., API_TOKEN=...
secretget demo/blob | od -c | head -2                 # SecretBinary: the bytes as stored
secretget demo/db --output $DEMO_TMP/demo-db.json && stat -c '%a %n' $DEMO_TMP/demo-db.json
secretget demo/db --exec -- sh -c 'echo "connecting as $USERNAME to $(echo "$HOSTS" | cut -c1-20)..."'
secretget demo/db --query nope || echo "exit $? (the path is not there)"
