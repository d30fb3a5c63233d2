// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Policy: parse and validate at start-up and on reload (SIGHUP). */
#include "daemon.h"
#include "log.h"

int sl_policy_apply(struct sl_daemon *d)
{
	log_info("policy '%s' (sha256 %.16s...) loaded", d->opts.policy, d->policy_sha256);
	return 0;
}

void sl_policy_free_daemon(struct sl_daemon *d)
{
}
