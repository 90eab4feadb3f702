"""MCP servers the tests start: ``NOTES_SERVER`` (notes_server.py, the official SDK's MCPServer)."""

from pathlib import Path

NOTES_SERVER = Path(__file__).parent / "notes_server.py"
