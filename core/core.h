/* core.h — the one header applets include: awsbox's shared engine, layer by layer (ARCHITECTURE.md). */
#ifndef AWSBOX_CORE_H
#define AWSBOX_CORE_H

/* Each layer's header includes the one below it; applets see them all. */
#include "base/base.h"
#include "fmt/fmt.h"
#include "wire/wire.h"
#include "req/req.h"
#include "auth/auth.h"
#include "api/api.h"
#include "s3/s3.h"
#include "cli/cli.h"

#endif
