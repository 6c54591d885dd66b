# lambdainvoke — invoke a function; the response payload goes to stdout byte for byte.
# (moto runs functions without Docker here: its lambda-simple backend echoes the event.)
aws iam create-role --endpoint-url "$MOTO_PLAIN_URL" --role-name demo-lambda >/dev/null --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
printf 'def handler(event, context):\n    return event\n' > $DEMO_TMP/demo_fn.py
python3 -m zipfile -c $DEMO_TMP/demo-fn.zip $DEMO_TMP/demo_fn.py
aws lambda create-function --function-name demo-echo --runtime python3.11 --handler demo_fn.handler \
  --role arn:aws:iam::123456789012:role/demo-lambda --zip-file fileb://$DEMO_TMP/demo-fn.zip >/dev/null
lambdainvoke demo-echo '{"order": 42, "items": ["a", "b"]}'; echo
echo '{"from": "stdin"}' | lambdainvoke demo-echo -; echo
lambdainvoke arn:aws:lambda:us-east-1:123456789012:function:demo-echo '{"by": "arn"}'; echo
lambdainvoke --type Event demo-echo '{"fire": "and forget"}' && echo "queued (Event prints nothing)"
lambdainvoke --type DryRun demo-echo && echo "DryRun: allowed"
lambdainvoke demo-echo '{not json}' 2>/dev/null || echo "exit $?: invalid JSON is refused before anything is sent"
