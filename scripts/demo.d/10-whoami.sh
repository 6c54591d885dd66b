# whoami — which identity the credentials belong to (STS GetCallerIdentity).
whoami
whoami --format json
account=$(whoami | cut -f1); echo "account is $account"
AWS_SECRET_ACCESS_KEY=wrong whoami || echo "exit $? (4: access or credentials)"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY whoami || echo "exit $? (no credentials: the providers tried are named)"
