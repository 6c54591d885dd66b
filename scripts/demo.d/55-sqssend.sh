# sqssend — send SQS messages, one or a stream of lines.
aws sqs --endpoint-url "$AWS_ENDPOINT_URL" create-queue --queue-name demo-jobs >/dev/null
aws sqs --endpoint-url "$AWS_ENDPOINT_URL" create-queue --queue-name demo-orders.fifo --attributes FifoQueue=true >/dev/null
sqssend demo-jobs 'hello from awsbox'                               # prints the MessageId
echo '{"job": 42}' | sqssend demo-jobs -a source=String:demo -a priority=Number:5
seq 1 2500 | sed 's/^/event /' | sqssend --lines demo-jobs && echo "2500 lines sent in batches of 10"
aws sqs --endpoint-url "$AWS_ENDPOINT_URL" get-queue-attributes --queue-url "$(aws sqs --endpoint-url "$AWS_ENDPOINT_URL" get-queue-url --queue-name demo-jobs --query QueueUrl --output text)" \
    --attribute-names ApproximateNumberOfMessages --query Attributes --output text
printf 'order 1\norder 2\norder 3\n' | sqssend --lines demo-orders.fifo --group-id shop --dedup-id batch7
printf 'fine\nbad\001line\nfine too\n' | sqssend --lines demo-jobs || echo "exit $? (line 2 named, the others sent)"
sqssend demo-no-such-queue 'x' || echo "exit $? (no such queue)"
