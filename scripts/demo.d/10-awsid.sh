# awsid — which identity the credentials belong to (STS GetCallerIdentity).
awsid
awsid --format json
account=$(awsid | cut -f1); echo "account is $account"
AWS_SECRET_ACCESS_KEY=wrong awsid || echo "exit $? (4: access or credentials)"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY awsid || echo "exit $? (no credentials: the providers tried are named)"
