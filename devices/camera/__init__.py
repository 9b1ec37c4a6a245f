"""The document camera (高拍仪): a driver opened from a URL, and the page pipeline.

- ``urls``      v4l2:// file:// sim:// parsed and checked
- ``sources``   one frame source per scheme (V4L2 through OpenCV, image files, the simulator)
- ``driver``    DocumentCamera: the worker thread that owns a source, latest-frame, reconnects
- ``detect``    finding the page's four corners; ``sides`` measures a quadrilateral's sides
- ``pipeline``  straighten, deskew, enhance, encode
- ``pdf``       a material's JPEG pages into one PDF, bytes untouched
- ``stability`` when has the page been still long enough to capture
- ``preview``   the outline for the live preview, on a small frame
- ``synth``     synthetic scenes with known corners (tests, benchmark, sim://); ``documents`` draws the papers
- ``quality``   the SmartDoc Jaccard index

Import the submodule you need; nothing is imported (or started) here.
"""
