# imds — instance metadata without curl (here the tests' IMDSv2 stand-in plays the instance).
imds instance-id
imds placement/region
imds tags/instance/Name
imds --json dynamic/instance-identity/document
imds
imds tags/instance/Owner || echo "exit $? (3: no such path)"
imds --spot || echo "exit $? (3: no interruption notice)"
