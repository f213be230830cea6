"""A local, stateful, Stream-compatible Chat backend for running and testing offline.

The sandbox is standalone: the product only starts it. See :class:`Sandbox` for embedding and
``stream-mcp sandbox`` for the command line.
"""

from stream_mcp.sandbox.server import Sandbox

__all__ = ["Sandbox"]
