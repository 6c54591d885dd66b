# ssmget — SSM parameters into pipelines, files and process environments.
aws ssm put-parameter --name /demo/app/db/host --type String --value db.internal >/dev/null
aws ssm put-parameter --name /demo/app/db/password --type SecureString --value "p'a\$s \"w\`d" >/dev/null
aws ssm put-parameter --name /demo/app/hosts --type StringList --value a.example,b.example >/dev/null
aws ssm put-parameter --name /demo/app/feature-flag --type String --value on >/dev/null
ssmget /demo/app/db/host /demo/app/hosts                      # one value a line, in the order given
ssmget /demo/app/db/password                                  # SecureString: decrypted
ssmget --path /demo/app --recursive --format env              # DB_HOST=..., FEATURE_FLAG=on, ...
ssmget --path /demo/app --recursive --format export           # quoted for eval, whatever the value
eval "$(ssmget --path /demo/app --recursive --format export)" && echo "DB_PASSWORD is ${#DB_PASSWORD} bytes"
ssmget --format json HOST=/demo/app/db/host FLAG=/demo/app/feature-flag
ssmget --path /demo/app --recursive --format dotenv --output $DEMO_TMP/demo.env && ls -l $DEMO_TMP/demo.env
ssmget --pristine --path /demo/app --recursive --exec -- env  # the command sees only these
ssmget /demo/app/db/host /demo/app/nope || echo "exit $? (missing names are named; nothing printed)"
