"""The Code Interpreter: sandboxed, stateful Jupyter kernels, one per thread.

- ``sandbox``   the bubblewrap command line and resource limits
- ``kernel``    ``SandboxedKernel``: start, execute (timeout → interrupt → restart), shut down
- ``execution`` what a cell produced (``Execution``), captured within caps
- ``workdir``   moving files in and out of ``/mnt/data`` without trusting it
- ``sessions``  ``KernelSessions``: a kernel per thread, a warm pool, idle shutdown
"""

from .execution import CollectedFile, Execution, OutputLimits
from .kernel import KernelError, SandboxedKernel
from .sandbox import SandboxLimits, SandboxUnavailable
from .sessions import KernelSessions, SessionSettings

CODE_FUNCTION = "code_interpreter"  # the function name the model calls the tool by

__all__ = [
    "CODE_FUNCTION",
    "CollectedFile",
    "Execution",
    "KernelError",
    "KernelSessions",
    "OutputLimits",
    "SandboxLimits",
    "SandboxUnavailable",
    "SandboxedKernel",
    "SessionSettings",
]
