"""Photos as phones send them, made safe to keep and to show: decoded with Pillow (HEIC/HEIF
through pillow-heif), turned upright, converted to sRGB, shrunk to a display size and a
thumbnail, and written anew as WebP with **no metadata at all** (no EXIF, GPS, XMP, camera
make, ICC profile). Nothing in the file as sent reaches the stored one except its pixels.
"""

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# Only the plugins we use, imported by name: left to itself Pillow imports all of its plugins
# on first use of another format (slow, and a source of stray import warnings).
from PIL import JpegImagePlugin as _jpeg  # noqa: F401
from PIL import PngImagePlugin as _png  # noqa: F401
from PIL import WebPImagePlugin as _webp  # noqa: F401

pillow_heif.register_heif_opener()

#: the formats we decode, by Pillow's name; anything else is "not a photo"
FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
OUTPUT_TYPE = "image/webp"
_QUALITY = 80

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class NotAnImage(ValueError):
    """The bytes cannot be decoded as a photo (damaged, truncated or another format)."""


class TooManyPixels(ValueError):
    """The photo declares more pixels than we agree to decode (a decompression bomb, or a
    panorama beyond the limit)."""

    def __init__(self, width: int | None, height: int | None):
        super().__init__(f"{width}×{height}")
        self.width, self.height = width, height


@dataclass(frozen=True)
class Rendition:
    """One encoded version of a photo."""

    data: bytes
    content_type: str
    width: int
    height: int


def reencode(
    data: bytes, *, max_side: int, thumb_side: int, max_pixels: int
) -> tuple[Rendition, Rendition]:
    """The display version (long side at most ``max_side``) and the thumbnail (long side at
    most ``thumb_side``) of the photo in ``data``, upright and stripped of all metadata.

    Raises ``TooManyPixels`` before decoding anything larger than ``max_pixels`` (Pillow's
    own decompression-bomb guard gives the same answer), ``NotAnImage`` for anything else
    that cannot be decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooManyPixels(None, None) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise NotAnImage(str(error)) from error
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise TooManyPixels(width, height)
        try:
            if image.format == "JPEG":
                # Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while decoding: a 12 MP
                # photo is read at about 2000 px, in a quarter of the memory and time.
                scale = max(width, height) / max_side
                if scale > 1:
                    image.draft("RGB", (int(width / scale), int(height / scale)))
            image.load()
            upright = ImageOps.exif_transpose(image)
            display = _pixels_only(_to_srgb(upright, image.info.get("icc_profile")))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise TooManyPixels(width, height) from None
        except (OSError, ValueError, SyntaxError, EOFError) as error:
            raise NotAnImage(str(error)) from error
    display.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    thumb = display.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return _encode(display), _encode(thumb)


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Colours as the camera meant them (e.g. an iPhone's Display P3), in sRGB, so the
    profile itself can be dropped."""
    mode = "RGBA" if _has_alpha(image) else "RGB"
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are
    return image.convert(mode)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image with the same pixels and nothing else: no ``info``, no EXIF."""
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def _encode(image: Image.Image) -> Rendition:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=_QUALITY, method=4)
    return Rendition(buffer.getvalue(), OUTPUT_TYPE, image.width, image.height)


def is_heif(data: bytes) -> bool:
    """An ISO media file whose brand says HEIC/HEIF (what iPhones save photos as)."""
    return len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


_HEIF_BRANDS = {
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"
}  # fmt: skip
