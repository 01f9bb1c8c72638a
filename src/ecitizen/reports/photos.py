"""Photos of street problems: checked by their content, stripped of metadata, resized.

A phone photo carries where it was taken (EXIF GPS, often to a few metres: a reporter's
home), when, with which device (make, model, serial numbers), and sometimes a thumbnail
of the uncropped picture; XMP and PNG text chunks can carry the same, and ICC profiles
name devices. None of it may reach storage, let alone a public page. So a photo is never
kept as sent: its pixels are decoded and encoded again into a new file that holds nothing
but them. The EXIF orientation is applied to the pixels first (a portrait photo would
otherwise lie on its side once its EXIF is gone), and colours in another colour space
(Display P3 on recent phones, a printer's CMYK) are converted to sRGB, the space browsers
assume for an image without a profile, so that no ICC profile needs to be kept.

Limits, as for every upload of the platform: at most ``REPORTS_PHOTO_MAX_BYTES`` bytes,
and at most ``UPLOAD_IMAGE_MAX_MEGAPIXELS`` megapixels (the size is read from the file's
header before any pixel is decoded, as :mod:`ecitizen.documents` does for its images, so
that a small file claiming 60000 x 60000 pixels never claims the memory to decode it).
The messages are the platform's upload messages, with the same wording.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from ecitizen.core.errors import DomainError

#: The display version fits in this box (pixels), the aspect ratio kept.
DISPLAY_SIZE = (1024, 1024)
# What is accepted, by the format Pillow recognises in the content (never the name or the
# browser's type): its content type and file extension. MPO is the JPEG variant some
# cameras write (several pictures in one file); its first picture is kept, as a JPEG.
_FORMATS = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
}
# Encoding settings: JPEG and WebP at a quality where re-encoding is invisible on a photo.
_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 90, "optimize": True},
    "PNG": {"compress_level": 6},
    "WEBP": {"quality": 90, "method": 4},
}
_MEGABYTE = 1024 * 1024
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class PhotoError(DomainError):
    """A photo that cannot be kept; ``message`` is the GOV.UK error message to show.

    ``code``: ``empty``, ``too_big``, ``wrong_type``, ``image_too_large`` (too many
    pixels) or ``image_unreadable`` (damaged, or cut short)."""

    code = "photo_error"


class Readable(Protocol):
    """What :func:`photo_prepare` reads: a Django ``UploadedFile``, or any binary file
    object (``size`` and ``seek`` are used when it has them)."""

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to store: two new files holding pixels only (no EXIF, GPS, XMP, ICC
    profile, comment or text), in the format it came in.

    ``original``: full resolution, orientation applied; ``width`` and ``height`` are its
    size. ``display``: the same picture fitting ``DISPLAY_SIZE`` (never enlarged), of
    ``display_width`` by ``display_height``. ``content_type`` (``image/jpeg``,
    ``image/png`` or ``image/webp``) and ``extension`` (``jpg``, ``png``, ``webp``) are
    those of both."""

    original: bytes
    display: bytes
    content_type: str
    extension: str
    width: int
    height: int
    display_width: int
    display_height: int


def _size_label(max_bytes: int) -> str:
    # The wording of ecitizen.documents' upload limit, so that both read the same.
    if max_bytes >= _MEGABYTE:
        megabytes = round(max_bytes / _MEGABYTE, 1)
        decimals = 0 if megabytes == int(megabytes) else 1
        return _("%(size)s MB") % {"size": number_format(megabytes, decimal_pos=decimals)}
    kilobytes = max(1, round(max_bytes / 1024))
    return _("%(size)s KB") % {"size": number_format(kilobytes)}


def _too_big(max_bytes: int) -> PhotoError:
    return PhotoError(
        _("The selected file must be smaller than %(size)s") % {"size": _size_label(max_bytes)},
        code="too_big",
    )


def _wrong_type() -> PhotoError:
    return PhotoError(_("The selected file must be a JPG, PNG or WebP photo"), code="wrong_type")


def _unreadable() -> PhotoError:
    return PhotoError(
        _("The selected image cannot be opened. Check it opens on your device, then try again"),
        code="image_unreadable",
    )


def _too_many_pixels(megapixels: int) -> PhotoError:
    return PhotoError(
        _(
            "The selected image has too many pixels. Choose an image of %(megapixels)s "
            "megapixels or fewer, such as a photo taken with a phone"
        )
        % {"megapixels": number_format(megapixels)},
        code="image_too_large",
    )


def _read(upload: Readable, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of the upload, from its start."""
    size = getattr(upload, "size", None)
    if isinstance(size, int) and size > max_bytes:
        raise _too_big(max_bytes)
    # A stream that cannot seek is read from where it is.
    seek = getattr(upload, "seek", None)
    if callable(seek):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_big(max_bytes)
    if not data:
        raise PhotoError(_("The selected file is empty"), code="empty")
    return data


def _open(data: bytes) -> Image.Image:
    """The image in ``data``, header read and size checked, pixels not yet decoded."""
    megapixels = int(settings.UPLOAD_IMAGE_MAX_MEGAPIXELS)
    try:
        with warnings.catch_warnings():
            # Pillow warns about (and past twice its own limit refuses) large images; ours
            # is the setting, applied to the size the header gives.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"])
    except Image.DecompressionBombError:
        raise _too_many_pixels(megapixels) from None
    except UnidentifiedImageError:
        raise _wrong_type() from None
    except (OSError, ValueError, SyntaxError):
        raise _unreadable() from None
    if image.format not in _FORMATS:
        raise _wrong_type()
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _unreadable()
    if width * height > megapixels * 1_000_000:
        raise _too_many_pixels(megapixels)
    return image


def _cut_short(data: bytes, fmt: str) -> bool:
    """Whether the file stops before its image data ends. Pillow would tell when it
    decodes, unless ``ImageFile.LOAD_TRUNCATED_IMAGES`` is on, and WeasyPrint switches it
    on for the whole process when it is imported: so the file's own structure is read.

    - JPEG: an end-of-image marker after the first start-of-scan (inside scan data a
      0xFF byte is always followed by 0x00, so the marker cannot occur by chance; an
      EXIF thumbnail's own markers come before the scan);
    - PNG: the IEND chunk after the last IDAT chunk;
    - WebP: at least as many bytes as the RIFF header announces.
    """
    if fmt == "JPEG":
        return data.rfind(b"\xff\xd9") < data.find(b"\xff\xda")
    if fmt == "PNG":
        return data.rfind(b"IEND") < data.rfind(b"IDAT")
    return len(data) < int.from_bytes(data[4:8], "little") + 8


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale PNG as 8-bit greyscale, scaled (Pillow's own conversion would
    clip every value above 255 to white); any other image as it is."""
    if image.mode.startswith("I"):
        scaled = image.convert("I").point(lambda value: value / 256).convert("L")
        scaled.info = image.info
        return scaled
    return image


def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.getbands() or "transparency" in image.info


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """``image`` in ``mode``, its colours converted to sRGB from its ICC profile when it
    has one (a profile that cannot be read is ignored: the colours are taken as sRGB)."""
    icc = image.info.get("icc_profile")
    if icc and mode in {"RGB", "RGBA"}:
        source = image
        if source.mode not in {"RGB", "RGBA", "CMYK", "L"}:
            source = source.convert("RGBA" if mode == "RGBA" else "RGB")
        if mode == "RGBA" and source.mode != "RGBA":
            source = source.convert("RGBA")
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = ImageCms.profileToProfile(
                source, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, outputMode=mode
            )
            if converted is not None:
                return converted
    if image.mode == "P" and "transparency" in image.info and mode != "RGBA":
        image = image.convert("RGBA")  # a transparent palette colour, as Pillow reads it
    return image if image.mode == mode else image.convert(mode)


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    # Nothing is passed but the encoder's settings: no exif, icc_profile, xmp or comment.
    image.save(buffer, fmt, **_SAVE_OPTIONS[fmt])
    return buffer.getvalue()


def photo_prepare(upload: Readable) -> PreparedPhoto:
    """Check a photo a person uploaded and make the two files to store (see the module).

    Reads at most ``REPORTS_PHOTO_MAX_BYTES + 1`` bytes. Raises :class:`PhotoError` with
    the message to show for a file that is empty, larger than ``REPORTS_PHOTO_MAX_BYTES``,
    not a JPEG, PNG or WebP image by its content (whatever its name or declared type),
    of more than ``UPLOAD_IMAGE_MAX_MEGAPIXELS``, or damaged or cut short. An animated
    image keeps its first frame. No side effects: nothing is stored.
    """
    max_bytes = int(settings.REPORTS_PHOTO_MAX_BYTES)
    data = _read(upload, max_bytes)
    with _open(data) as image:
        fmt, content_type, extension = _FORMATS[str(image.format)]
        if _cut_short(data, fmt):
            raise _unreadable()
        try:
            image.load()
            # Corrupt EXIF must not cost the photo: it is dropped anyway, unrotated.
            try:
                upright = ImageOps.exif_transpose(image)
            except (OSError, ValueError, SyntaxError, KeyError, TypeError):
                upright = image.copy()
            upright = _eight_bit(upright)
            if fmt == "JPEG":
                mode = "L" if upright.mode in {"1", "L"} else "RGB"
            elif _has_alpha(upright):
                mode = "RGBA"
            else:
                mode = "L" if fmt == "PNG" and upright.mode in {"1", "L"} else "RGB"
            pixels = _to_srgb(upright, mode)
        except (OSError, ValueError, SyntaxError):
            raise _unreadable() from None
    # A new image holding the pixels and nothing else: whatever Pillow carries from the
    # file it read (info, a parsed Exif, encoder settings) stays behind.
    clean = Image.new(mode, pixels.size)
    clean.paste(pixels)
    display = clean.copy()
    display.thumbnail(DISPLAY_SIZE, Image.Resampling.LANCZOS)
    return PreparedPhoto(
        original=_encode(clean, fmt),
        display=_encode(display, fmt),
        content_type=content_type,
        extension=extension,
        width=clean.width,
        height=clean.height,
        display_width=display.width,
        display_height=display.height,
    )
