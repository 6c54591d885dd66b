# ssmrun — Run Command (moto finishes commands at once, with empty output) and Automation.
# moto answers Automation calls with HTTP 500: try those against AWS (or the test stand-in).
ssmrun --instance i-0123456789abcdef0 --command 'echo hello' --command 'uptime'; echo "exit $?"
ssmrun --instance i-0123456789abcdef0 --instance i-0123456789abcdef1 --command 'hostname'
id=$(ssmrun --instance i-0123456789abcdef0 --command 'sleep 1' --no-wait) && echo "command $id sent"
aws ssm list-commands --command-id "$id" --query 'Commands[0].[Status,Parameters.commands[0]]' --output text
ssmrun --help | sed -n '1,3p'
ssmrun --document AWS-StartEC2Instance InstanceId=i-0123456789abcdef0 --timeout 30s || echo "exit $? (moto has no Automation)"
