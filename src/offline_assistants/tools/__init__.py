"""Built-in tools a run can call: ``code_interpreter``, ``file_search`` and MCP servers' tools.

``code_interpreter/`` runs model-written code in sandboxed Jupyter kernels,
``file_search/`` indexes and searches documents, ``mcp/`` calls the tools of the
user's own MCP servers for a Responses request. Function tools need no code
here: their calls go back to the client through ``requires_action``. Built-in
tools run inside the runtime and record their results in the run's
``tool_calls`` step.
"""
