"""Real image files made in the test with Pillow (and pillow-heif), as phones send them."""

import io
import os
import struct
import zlib

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

RED, BLUE = (220, 20, 20), (20, 20, 220)
ORIENTATION, MAKE, MODEL, GPS_IFD = 0x0112, 0x010F, 0x0110, 0x8825
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="11,33.0N"/></rdf:RDF></x:xmpmeta>'
)


def marked(width: int, height: int) -> Image.Image:
    """Blue, with a red block in the top-left corner: where it ends up shows the rotation."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 4, height // 4))
    return image


def phone_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera make and model, GPS position, orientation."""
    exif = Image.Exif()
    exif[MAKE] = "Apple"
    exif[MODEL] = "iPhone 13"
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {
        1: "N",
        2: (11.0, 33.0, 25.5),
        3: "E",
        4: (104.0, 55.0, 7.25),
    }
    return exif


def jpeg_bytes(
    width: int = 64, height: int = 48, *, orientation: int | None = None, quality: int = 85
) -> bytes:
    image = marked(width, height)
    extra = {}
    if orientation is not None:
        extra = {"exif": phone_exif(orientation), "xmp": XMP}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **extra)
    return buffer.getvalue()


def noisy_jpeg_bytes(width: int = 4000, height: int = 3000, *, quality: int = 75) -> bytes:
    """A 12 MP photo that compresses as badly as a real one (grain everywhere): about 7 MB,
    more than the old 5 MB limit, two of them more than the old 12 MB request limit."""
    grain = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    grain.save(buffer, "JPEG", quality=quality, exif=phone_exif(6))
    return buffer.getvalue()


def png_image_bytes(width: int = 40, height: int = 30, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    marked(width, height).convert(mode).save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    marked(width, height).save(buffer, "WEBP", exif=phone_exif(1))
    return buffer.getvalue()


def heic_bytes(width: int = 64, height: int = 48, *, orientation: int = 1) -> bytes:
    """An iPhone-style HEIC photo, with camera make and GPS in its EXIF (pillow-heif writes
    the orientation as the container's rotation, as iPhones do)."""
    buffer = io.BytesIO()
    exif = phone_exif(orientation).tobytes()
    marked(width, height).save(buffer, "HEIF", quality=80, exif=exif)
    return buffer.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    """A valid PNG of ``side``×``side`` black pixels (1 bit each) that packs into a few dozen
    KB: decoded, it would take hundreds of MB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def read_back(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
