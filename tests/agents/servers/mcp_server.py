#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A loopback MCP server over HTTPS (streamable HTTP transport, JSON-RPC 2.0
over POST, answered with application/json) for the agent tests, playing a
cloud provider's MCP integration: one tool, volume_delete, that "deletes" a
volume and records the call.

POST /mcp: initialize (answers the protocol version the client asked for and
an Mcp-Session-Id), notifications/* (202, no body), ping, tools/list,
tools/call (volume_delete {"volume_id": ...}: result text "deleted volume
ID"; any other tool: a JSON-RPC error). GET /mcp (the client's optional
server-to-client event stream) and DELETE /mcp: 405, as the transport allows.

Every request is logged (servers/common.py) with, in addition: "rpc" (the
JSON-RPC method, or "batch"), "tool" and "arguments" for tools/call, and
"authorization" (the header's value, so a test can check the token arrived).
"""

import json
import secrets

from common import Handler, serve

SESSION = "mcp-" + secrets.token_hex(8)
TOOLS = [{
    "name": "volume_delete",
    "description": "Delete a storage volume and every backup of it. Irreversible.",
    "inputSchema": {
        "type": "object",
        "properties": {"volume_id": {"type": "string", "description": "the volume's id"}},
        "required": ["volume_id"],
    },
}]


def rpc_answer(msg):
    """(response object or None for a notification, log members)."""
    method = msg.get("method")
    mid = msg.get("id")
    extra = {"rpc": method}
    if mid is None:
        return None, extra
    if method == "initialize":
        params = msg.get("params") or {}
        result = {"protocolVersion": params.get("protocolVersion", "2025-06-18"),
                  "capabilities": {"tools": {"listChanged": False}},
                  "serverInfo": {"name": "scopelock-test-cloud", "version": "1.0.0"}}
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        params = msg.get("params") or {}
        name, args = params.get("name"), params.get("arguments") or {}
        extra.update(tool=name, arguments=args)
        if name != "volume_delete":
            return {"jsonrpc": "2.0", "id": mid,
                    "error": {"code": -32602, "message": f"unknown tool {name}"}}, extra
        result = {"content": [{"type": "text",
                               "text": f"deleted volume {args.get('volume_id')}"}],
                  "isError": False}
    else:
        return {"jsonrpc": "2.0", "id": mid,
                "error": {"code": -32601, "message": f"method not found: {method}"}}, extra
    return {"jsonrpc": "2.0", "id": mid, "result": result}, extra


class McpHandler(Handler):
    def route(self, body):
        path = self.path.partition("?")[0]
        auth = {"authorization": self.headers.get("Authorization")}
        if path != "/mcp":
            return 404, {"Content-Type": "text/plain"}, b"not found\n", "not_found", auth
        if self.command != "POST":
            return 405, {"Content-Type": "text/plain", "Allow": "POST"}, \
                b"method not allowed\n", "method_not_allowed", auth
        try:
            msg = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return 400, {"Content-Type": "text/plain"}, b"bad json\n", "bad_json", \
                {**auth, "error": repr(e)}
        if isinstance(msg, list):
            answers = [a for a, _ in (rpc_answer(m) for m in msg) if a is not None]
            extra = {"rpc": "batch"}
        else:
            a, extra = rpc_answer(msg)
            answers = a
        headers = {"Mcp-Session-Id": SESSION}
        if not answers:
            return 202, headers, b"", "accepted", {**auth, **extra}
        headers["Content-Type"] = "application/json"
        return 200, headers, json.dumps(answers).encode(), "answered", {**auth, **extra}


if __name__ == "__main__":
    serve(McpHandler)
