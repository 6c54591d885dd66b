# rdstoken — an IAM auth token for RDS/Aurora: what `aws rds generate-db-auth-token` prints; no network.
rdstoken mydb.abc123xyz.eu-west-1.rds.amazonaws.com:5432 app_user
# the same token as the AWS CLI's (when both run in the same second):
rdstoken --host db.internal --port 3306 --user app --region us-east-1
aws rds generate-db-auth-token --hostname db.internal --port 3306 --username app --region us-east-1
# pinned clock: the token is a pure function of credentials, host, port, user, region and time
AWSBOX_NOW=2024-01-01T00:00:00Z rdstoken db.internal:3306 app --region us-east-1
rdstoken db.internal app || echo "exit $? (the port is signed into the token: required)"
