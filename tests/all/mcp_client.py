"""Drives mung-runtime's MCP server with the official MCP Python SDK.

Usage:
  python mcp_client.py DOCUMENT -- COMMAND ARG...   (stdio: the client starts COMMAND)
  python mcp_client.py DOCUMENT URL [TOKEN]          (streamable HTTP)

Runs one scenario and prints one JSON object with what each step answered;
the Rust test (tests/all/mcp.rs) judges it. A step that raises is recorded
as {"raised": "..."}, so a protocol error shows instead of a tool result.
"""

import asyncio
import json
import os
import sys

from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters


def result(r):
    """A CallToolResult as JSON: isError, its structured content, its text."""
    return {
        "is_error": bool(r.is_error),
        "structured": r.structured_content,
        "text": [c.text for c in r.content if getattr(c, "type", "") == "text"],
    }


async def step(out, name, coro, convert):
    try:
        out[name] = convert(await coro)
    except Exception as e:  # noqa: BLE001 - the test wants to see any failure
        out[name] = {"raised": f"{type(e).__name__}: {e}"}


async def scenario(client, document):
    out = {}
    await step(out, "tools", client.list_tools(), lambda r: sorted(t.name for t in r.tools))
    await step(
        out,
        "schemas",
        client.list_tools(),
        lambda r: {t.name: {"description": t.description, "input": t.input_schema} for t in r.tools},
    )
    await step(out, "define", client.call_tool("run_python", {"code": "x = 21"}), result)
    await step(out, "use", client.call_tool("run_python", {"code": "x * 2"}), result)
    await step(
        out, "write", client.call_tool("write_file", {"path": "notes/hello.txt", "text": "hello from the client"}), result
    )
    await step(
        out, "read_in_python", client.call_tool("run_python", {"code": "open('/session/notes/hello.txt').read()"}), result
    )
    await step(out, "resources", client.list_resources(), lambda r: sorted(str(x.uri) for x in r.resources))
    await step(
        out,
        "resource",
        client.read_resource("session:///notes/hello.txt"),
        lambda r: [getattr(c, "text", None) for c in r.contents],
    )
    await step(out, "validate", client.call_tool("validate_mung", {"document": document}), result)
    await step(out, "bad_argument", client.call_tool("write_file", {"path": "../escape", "text": "x"}), result)
    await step(out, "busy", client.call_tool("run_python", {"code": "while True:\n    pass"}), result)
    await step(out, "after_busy", client.call_tool("run_python", {"code": "1 + 1"}), result)
    await step(out, "state_after_busy", client.call_tool("run_python", {"code": "x"}), result)
    await step(
        out, "file_after_busy", client.call_tool("run_python", {"code": "open('/session/notes/hello.txt').read()"}), result
    )
    return out


async def main():
    document_path = sys.argv[1]
    with open(document_path, encoding="utf-8") as f:
        document = f.read()
    if sys.argv[2] == "--":
        command = sys.argv[sys.argv.index("--") + 1 :]
        server = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
        client = Client(server, read_timeout_seconds=120)
    else:
        url = sys.argv[2]
        if len(sys.argv) > 3:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {sys.argv[3]}"}, timeout=120)
            client = Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120)
        else:
            client = Client(url, read_timeout_seconds=120)
    async with client:
        out = await scenario(client, document)
    print(json.dumps(out))


asyncio.run(main())
