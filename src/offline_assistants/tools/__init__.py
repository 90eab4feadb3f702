"""Built-in tools a run can call: ``code_interpreter`` (sandboxed Jupyter kernels) and ``file_search``.

Function tools need no code here: their calls go back to the client through
``requires_action``. Built-in tools run inside the runtime and record their
results in the run's ``tool_calls`` step.
"""
