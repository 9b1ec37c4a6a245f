"""Document-camera URLs, checked before anything is opened.

- ``v4l2:///dev/video0?width=3264&height=2448&fourcc=MJPG&fps=15`` a UVC camera through OpenCV's
  V4L2 backend (any path: /dev/v4l/by-id/… links from the udev rules work too)
- ``file:///path/to/images/`` or ``file:///path/page.jpg`` images played as frames
  (``fps``, default 5; ``loop=0`` to stop at the last image)
- ``sim://?seed=1&width=1280&height=960&fps=10`` documents that slide onto a dark pad and settle
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from devices.urls import DeviceUrlError, query_options, split

SCHEMES = ("v4l2", "file", "sim")
_ALLOWED = {
    "v4l2": {"width", "height", "fourcc", "fps"},
    "file": {"fps", "loop"},
    "sim": {"seed", "width", "height", "fps"},
}


@dataclass(frozen=True)
class CameraUrl:
    scheme: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    def int_param(self, name: str, default: int | None, lo: int = 1, hi: int = 100000) -> int | None:
        if name not in self.params:
            return default
        try:
            value = int(self.params[name])
        except ValueError:
            raise DeviceUrlError(f"{name} must be a whole number in {self.raw!r}") from None
        if not lo <= value <= hi:
            raise DeviceUrlError(f"{name}={value} is out of range {lo}..{hi} in {self.raw!r}")
        return value

    def float_param(self, name: str, default: float, lo: float, hi: float) -> float:
        if name not in self.params:
            return default
        try:
            value = float(self.params[name])
        except ValueError:
            raise DeviceUrlError(f"{name} must be a number in {self.raw!r}") from None
        if not lo <= value <= hi:
            raise DeviceUrlError(f"{name}={value:g} is out of range {lo:g}..{hi:g} in {self.raw!r}")
        return value

    @property
    def fourcc(self) -> str | None:
        return self.params.get("fourcc")


def parse_camera_url(url: str) -> CameraUrl:
    """Split and check ``url``; raises DeviceUrlError naming the problem."""
    url, parts = split(url, "camera")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise DeviceUrlError(f"unknown camera URL scheme {parts.scheme!r} in {url!r} "
                             f"(expected {', '.join(s + '://' for s in SCHEMES)})")
    params = query_options(parts, url, _ALLOWED[scheme], twice="error")
    path = unquote(parts.netloc + parts.path) if scheme != "sim" else ""
    cam = CameraUrl(scheme, path, params, url)
    if scheme in ("v4l2", "file") and not path:
        raise DeviceUrlError(f"{scheme}:// needs a path, e.g. {scheme}:///dev/video0" if scheme == "v4l2"
                             else "file:// needs a path, e.g. file:///srv/pages/")
    if scheme in ("v4l2", "file") and parts.netloc:
        raise DeviceUrlError(f"{scheme}:// takes an absolute path with three slashes, e.g. {scheme}:///{parts.netloc}{parts.path}")
    if scheme == "v4l2":
        cam.int_param("width", None, 16, 20000)
        cam.int_param("height", None, 16, 20000)
        cam.int_param("fps", None, 1, 240)
        fourcc = params.get("fourcc")
        if fourcc is not None and (len(fourcc) != 4 or not fourcc.isascii() or not fourcc.isprintable()):
            raise DeviceUrlError(f"fourcc must be four characters (e.g. MJPG, YUYV), not {fourcc!r}")
        if ("width" in params) != ("height" in params):
            raise DeviceUrlError("give width and height together")
    elif scheme == "file":
        cam.float_param("fps", 5.0, 0.1, 120.0)
        if params.get("loop", "1") not in ("0", "1"):
            raise DeviceUrlError("loop must be 0 or 1")
    else:
        cam.int_param("seed", 1, 0, 2 ** 31 - 1)
        cam.int_param("width", 1280, 160, 4096)
        cam.int_param("height", 960, 120, 4096)
        cam.float_param("fps", 10.0, 0.5, 60.0)
    return cam
