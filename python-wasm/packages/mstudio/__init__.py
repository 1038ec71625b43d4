"""mstudio -- the Python side of MuNG Studio, run inside the mung-runtime sandbox.

Subpackages and modules are imported on demand (nothing heavy is imported here):

* ``mstudio.validation`` -- ``validate(xml)`` and ``fix(xml)`` (MuNG Studio's validation);
* ``mstudio.mungxml``    -- safe in-memory reading of MuNG XML into ``mung.node.Node``;
* ``mstudio.errors``     -- the typed errors (``InvalidInput``, ...);
* ``mstudio.extraction``, ``mstudio.document`` -- image/mask extraction and document edits.
"""

__version__ = "0.1.0"
