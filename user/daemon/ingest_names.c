// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Names of the ring buffer record types, as written in the audit log's
 * "type" member, and of the loss causes (docs/events.md).
 */
#include <stddef.h>

#include "ingest.h"
#include "scopelock_abi.h"

static const char *const op_types[SL_OP_MAX] = {
    [SL_OP_EXEC] = "exec",
    [SL_OP_EXEC_FAILED] = "exec_failed",
    [SL_OP_OPEN] = "open",
    [SL_OP_CONNECT] = "connect",
    [SL_OP_CONNECT_RESULT] = "connect_result",
    [SL_OP_UDP_SEND] = "udp_send",
    [SL_OP_TLS_WRITE] = "tls_write",
    [SL_OP_TLS_READ] = "tls_read",
    [SL_OP_EXIT] = "exit",
    [SL_OP_VERDICT] = "verdict",
    [SL_OP_TLS_MAP] = "tls_map",
    [SL_OP_PLAIN_WRITE] = "plain_write",
};

const char *sl_op_type(unsigned int op)
{
	return op < SL_OP_MAX ? op_types[op] : NULL;
}

static const char *const loss_cause_names[SL_LOSS_MAX] = {
    [SL_LOSS_RINGBUF_FULL] = "ringbuf_full",
    [SL_LOSS_READ_FAULT] = "read_fault",
    [SL_LOSS_TRUNCATED] = "truncated",
    [SL_LOSS_MAP_FULL] = "map_full",
};

const char *sl_loss_cause_name(unsigned int cause)
{
	return cause < SL_LOSS_MAX ? loss_cause_names[cause] : "unknown";
}
