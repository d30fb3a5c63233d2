#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A scripted model API over HTTPS on 127.0.0.1 for the agent tests: it plays
the Anthropic Messages API, the OpenAI Responses API and the Gemini API just
far enough for Claude Code, Codex and Gemini CLI to run one tool and finish.

--script FILE (JSON): {"tool": NAME, "input": {...}, "final_text": TEXT}
  The conversation request (one that offers the tool NAME) is answered with a
  call of NAME with "input" as its arguments, until the request carries the
  result of that call; then with TEXT. A request that does not offer NAME
  (the agents' side requests: titles, topic checks, the next-speaker check)
  is answered with plain text (JSON text when the request asks for JSON).
  A conversation request that offers tools but not NAME is answered with the
  text "scripted-model: tool NAME not offered (offered: ...)" so that a test
  shows why nothing ran. A Responses API tool of type "namespace" (Codex's
  MCP servers) offers each of its functions as NAMESPACE__FUNCTION, called
  with "namespace" set.

Endpoints: POST /v1/messages (stream or not), POST /v1/messages/count_tokens;
POST /v1/responses (SSE); GET /v1/responses with Upgrade: websocket refused
with 426 (no WebSocket support: the client falls back to HTTP) and logged;
GET /v1/models; POST /v1beta/models/M:generateContent,
:streamGenerateContent?alt=sse, :countTokens. Anything else: 404, logged.

Every request is logged (servers/common.py) with, in addition: "api"
("anthropic", "openai", "gemini", or null), "stream", "offered" (tool names
offered), "tool_result" (the text of our tool call's result when the request
carries it, else null), "model".
"""

import json
import re
import sys
import time

from common import Handler, serve

SCRIPT = {}
CALL_ID = "toolu_01ScopelockTest"  # also the OpenAI call_id / Gemini's call id


def _text_of(content):
    """Text of a tool result's content in any of the three APIs' shapes."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text_of(c) for c in content)
    if isinstance(content, dict):
        for k in ("text", "output", "content", "result", "stdout", "llmContent"):
            if k in content:
                return _text_of(content[k])
        return json.dumps(content)
    return str(content)


def sse(event, data):
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(data) + "\n\n").encode()


# ------------------------------------------------------------------ Anthropic

def anthropic(h, req, stream_flag):
    offered = [t.get("name") for t in req.get("tools") or [] if isinstance(t, dict)]
    result = None
    for m in req.get("messages") or []:
        if isinstance(m.get("content"), list):
            for b in m["content"]:
                if isinstance(b, dict) and b.get("type") == "tool_result" \
                        and b.get("tool_use_id") == CALL_ID:
                    result = _text_of(b.get("content"))
    tool = SCRIPT["tool"]
    if result is not None:
        answer, blocks = "final", [{"type": "text", "text": SCRIPT["final_text"]}]
    elif tool in offered:
        answer, blocks = "tool_call", [{"type": "tool_use", "id": CALL_ID, "name": tool,
                                        "input": SCRIPT["input"]}]
    elif offered:
        answer = "tool_not_offered"
        blocks = [{"type": "text", "text": f"scripted-model: tool {tool} not offered "
                   f"(offered: {', '.join(map(str, offered))})"}]
    else:
        answer, blocks = "text", [{"type": "text", "text": "ok"}]
    stop = "tool_use" if answer == "tool_call" else "end_turn"
    model = req.get("model", "scripted")
    msg = {"id": "msg_scopelock_%d" % int(time.time() * 1000), "type": "message",
           "role": "assistant", "model": model, "content": [], "stop_reason": None,
           "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}
    extra = {"api": "anthropic", "stream": bool(stream_flag), "offered": offered,
             "tool_result": result, "model": model}
    if not stream_flag:
        msg.update(content=blocks, stop_reason=stop,
                   usage={"input_tokens": 10, "output_tokens": 10})
        return 200, {"Content-Type": "application/json"}, json.dumps(msg).encode(), \
            answer, extra

    def events():
        yield sse("message_start", {"type": "message_start", "message": msg})
        for i, b in enumerate(blocks):
            if b["type"] == "text":
                yield sse("content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": {"type": "text", "text": ""}})
                yield sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                  "delta": {"type": "text_delta",
                                                            "text": b["text"]}})
            else:
                yield sse("content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": {**b, "input": {}}})
                yield sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json":
                                                            json.dumps(b["input"])}})
            yield sse("content_block_stop", {"type": "content_block_stop", "index": i})
        yield sse("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": stop, "stop_sequence": None},
                                    "usage": {"output_tokens": 10}})
        yield sse("message_stop", {"type": "message_stop"})
    return 200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, \
        events(), answer, extra


# ------------------------------------------------------------------ OpenAI Responses

def openai(h, req):
    offered, namespaced = [], {}
    for t in req.get("tools") or []:
        if isinstance(t, dict) and t.get("type") == "namespace":
            # a namespace of functions (Codex's MCP servers: mcp__SERVER):
            # offered as NAMESPACE__FUNCTION, called with its namespace
            for f in t.get("tools") or []:
                if isinstance(f, dict) and f.get("name"):
                    full = f"{t.get('name')}__{f['name']}"
                    offered.append(full)
                    namespaced[full] = (t.get("name"), f["name"])
        elif isinstance(t, dict):
            offered.append(t.get("name") or (t.get("function") or {}).get("name")
                           or t.get("type"))
    result = None
    inp = req.get("input")
    for item in inp if isinstance(inp, list) else []:
        if isinstance(item, dict) and item.get("type") == "function_call_output" \
                and item.get("call_id") == CALL_ID:
            result = _text_of(item.get("output"))
    tool = SCRIPT["tool"]
    rid = "resp_scopelock_%d" % int(time.time() * 1000)
    if result is not None:
        answer, text = "final", SCRIPT["final_text"]
    elif tool in offered:
        answer, text = "tool_call", None
    elif offered:
        answer = "tool_not_offered"
        text = (f"scripted-model: tool {tool} not offered "
                f"(offered: {', '.join(map(str, offered))})")
    else:
        answer, text = "text", "ok"
    if answer == "tool_call":
        item = {"type": "function_call", "id": "fc_scopelock_1", "call_id": CALL_ID,
                "name": tool, "arguments": json.dumps(SCRIPT["input"]), "status": "completed"}
        if tool in namespaced:
            item["namespace"], item["name"] = namespaced[tool]
    else:
        item = {"type": "message", "id": "msg_scopelock_1", "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
    model = req.get("model", "scripted")
    base = {"id": rid, "object": "response", "created_at": int(time.time()),
            "model": model, "output": [], "status": "in_progress"}
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 20}
    extra = {"api": "openai", "stream": bool(req.get("stream")), "offered": offered,
             "tool_result": result, "model": model}

    def events():
        n = [0]

        def ev(kind, **data):
            n[0] += 1
            return sse(kind, {"type": kind, "sequence_number": n[0], **data})
        yield ev("response.created", response=base)
        started = dict(item, status="in_progress")
        if item["type"] == "function_call":
            started["arguments"] = ""
        else:
            started["content"] = []
        yield ev("response.output_item.added", output_index=0, item=started)
        if item["type"] == "message":
            yield ev("response.output_text.delta", item_id=item["id"], output_index=0,
                     content_index=0, delta=text)
            yield ev("response.output_text.done", item_id=item["id"], output_index=0,
                     content_index=0, text=text)
        else:
            yield ev("response.function_call_arguments.delta", item_id=item["id"],
                     output_index=0, delta=item["arguments"])
            yield ev("response.function_call_arguments.done", item_id=item["id"],
                     output_index=0, arguments=item["arguments"])
        yield ev("response.output_item.done", output_index=0, item=item)
        yield ev("response.completed", response=dict(base, status="completed", output=[item],
                                                     usage=usage))
    if not req.get("stream"):
        body = dict(base, status="completed", output=[item], usage=usage)
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode(), \
            answer, extra
    return 200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, \
        events(), answer, extra


# ------------------------------------------------------------------ Gemini

def gemini(h, req, method, stream_flag):
    offered = []
    for t in req.get("tools") or []:
        for f in (t or {}).get("functionDeclarations") or []:
            offered.append(f.get("name"))
    result = None
    for c in req.get("contents") or []:
        for p in (c or {}).get("parts") or []:
            fr = (p or {}).get("functionResponse")
            if fr and fr.get("name") == SCRIPT["tool"]:
                result = _text_of(fr.get("response"))
    tool = SCRIPT["tool"]
    cfg = req.get("generationConfig") or {}
    wants_json = cfg.get("responseMimeType") == "application/json"
    if method == "countTokens":
        body = {"totalTokens": 10}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode(), \
            "count_tokens", {"api": "gemini", "stream": False, "offered": offered,
                             "tool_result": result, "model": None}
    if result is not None:
        answer, part = "final", {"text": SCRIPT["final_text"]}
    elif tool in offered:
        answer, part = "tool_call", {"functionCall": {"id": CALL_ID, "name": tool,
                                                      "args": SCRIPT["input"]}}
    elif offered:
        answer = "tool_not_offered"
        part = {"text": f"scripted-model: tool {tool} not offered "
                f"(offered: {', '.join(map(str, offered))})"}
    elif wants_json:
        # the side requests in JSON mode (next speaker, routing): an answer
        # that ends the turn and picks the default model
        answer = "json"
        part = {"text": json.dumps({"reasoning": "scripted", "next_speaker": "user",
                                    "model_choice": "flash",
                                    "complexity_reasoning": "scripted",
                                    "complexity_score": 1})}
    else:
        answer, part = "text", {"text": "ok"}
    resp = {"candidates": [{"content": {"role": "model", "parts": [part]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 10,
                              "totalTokenCount": 20},
            "modelVersion": "scripted"}
    extra = {"api": "gemini", "stream": stream_flag, "offered": offered,
             "tool_result": result, "model": None}
    if not stream_flag:
        return 200, {"Content-Type": "application/json"}, json.dumps(resp).encode(), \
            answer, extra

    def events():
        yield ("data: " + json.dumps(resp) + "\r\n\r\n").encode()
    return 200, {"Content-Type": "text/event-stream"}, events(), answer, extra


# ------------------------------------------------------------------ routing

class ModelHandler(Handler):
    def route(self, body):
        path, _, query = self.path.partition("?")
        none = {"api": None}
        if self.command == "GET" and path.rstrip("/").endswith("/responses") \
                and "websocket" in self.headers.get("Upgrade", "").lower():
            # no WebSocket here: refuse the upgrade (a client falls back to
            # HTTP POST); 426 says "use another protocol"
            return 426, {"Content-Type": "text/plain", "Connection": "close"}, \
                b"websocket not supported\n", "websocket_refused", {"api": "openai"}
        if self.command == "GET" and path.rstrip("/").endswith("/models"):
            return 200, {"Content-Type": "application/json"}, \
                json.dumps({"object": "list", "data": [], "models": []}).encode(), \
                "models", none
        if self.command in ("HEAD", "GET") and path == "/":
            # Claude Code's connectivity check (HEAD /) before its first request
            return 200, {"Content-Type": "text/plain"}, b"ok\n", "root", none
        if self.command != "POST":
            return 404, {"Content-Type": "text/plain"}, b"not found\n", "not_found", none
        try:
            req = json.loads(body.decode("utf-8")) if body else {}
        except (ValueError, UnicodeDecodeError) as e:
            return 400, {"Content-Type": "text/plain"}, b"bad json\n", "bad_json", \
                {"api": None, "error": repr(e)}
        if path.endswith("/v1/messages/count_tokens"):
            return 200, {"Content-Type": "application/json"}, b'{"input_tokens": 10}', \
                "count_tokens", {"api": "anthropic"}
        if path.endswith("/v1/messages"):
            return anthropic(self, req, req.get("stream"))
        if path.endswith("/responses"):
            return openai(self, req)
        m = re.search(r"/models/([^/:]+):(generateContent|streamGenerateContent|countTokens)$",
                      path)
        if m:
            return gemini(self, req, m.group(2), m.group(2) == "streamGenerateContent")
        return 404, {"Content-Type": "text/plain"}, b"not found\n", "not_found", none


def main():
    if "--script" not in sys.argv[:-1]:
        raise SystemExit("model_server: --script FILE is required")
    path = sys.argv[sys.argv.index("--script") + 1]
    with open(path) as f:
        SCRIPT.update(json.load(f))
    for k in ("tool", "input", "final_text"):
        if k not in SCRIPT:
            raise SystemExit(f"model_server: {path}: missing \"{k}\"")
    serve(ModelHandler, lambda ap: ap.add_argument("--script", required=True))


if __name__ == "__main__":
    main()
