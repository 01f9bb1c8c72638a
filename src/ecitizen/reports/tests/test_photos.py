"""Photos of street reports (ecitizen.reports.photos): recognised by content, stripped of
every piece of metadata (GPS above all), turned upright, resized. No database."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms, features
from PIL.PngImagePlugin import PngInfo

from ecitizen.reports.photos import PhotoError, photo_prepare

RED = (220, 30, 30)
BLUE = (30, 30, 220)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description exif:GPSLatitude="52,11.4N"/></rdf:RDF></x:xmpmeta>'
)
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: orientation, the device, and where the photo was taken
    (52°11'24"N 2°13'12"W: Riverton's Old Town)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Phonemaker"
    exif[ExifTags.Base.Model] = "Phone 12 Pro"
    exif[ExifTags.Base.DateTime] = "2026:03:14 08:15:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 11.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 13.0, 12.0)
    return exif


def _red_left_blue_right(size: tuple[int, int] = (200, 100), mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image.convert(mode)


def _upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _jpeg_from_a_phone(orientation: int = 1, size: tuple[int, int] = (200, 100)) -> bytes:
    buffer = io.BytesIO()
    _red_left_blue_right(size).save(
        buffer,
        "JPEG",
        quality=95,
        exif=_exif(orientation).tobytes(),
        icc_profile=SRGB_PROFILE,
        xmp=XMP,
        comment=b"Taken at 12 Mill Lane",
    )
    data = buffer.getvalue()
    # The premise of the tests below: the file really carries all of it.
    with Image.open(io.BytesIO(data)) as image:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitude] == (52.0, 11.0, 24.0)
        assert {"exif", "xmp", "icc_profile", "comment"} <= set(image.info)
    return data


def _assert_no_metadata(data: bytes) -> Image.Image:
    """Open ``data`` and check that nothing but pixels is in it."""
    image = Image.open(io.BytesIO(data))
    assert len(image.getexif()) == 0
    assert len(image.getexif().get_ifd(ExifTags.IFD.GPSInfo)) == 0
    leftover = set(image.info) & {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"}
    assert not leftover
    if image.format == "PNG":
        assert image.text == {}  # no tEXt, zTXt or iTXt chunk
    # Nor anywhere in the bytes, whatever Pillow would parse.
    for marker in (b"Exif\x00\x00", b"http://ns.adobe.com/xap", b"xmpmeta", b"GPS", b"Mill Lane"):
        assert marker not in data, marker
    for marker in (b"Phonemaker", b"Phone 12", b"2026:03:14", b"ICC_PROFILE", b"iCCP", b"eXIf"):
        assert marker not in data, marker
    return image


def _near(colour: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour[:3], expected, strict=True))


# --- Metadata goes, orientation stays -----------------------------------------------------


def test_a_phone_photos_gps_and_every_other_metadata_are_gone():
    photo = photo_prepare(_upload(_jpeg_from_a_phone()))
    assert photo.content_type == "image/jpeg"
    assert photo.extension == "jpg"
    for data in (photo.original, photo.display):
        image = _assert_no_metadata(data)
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        assert image.size == (200, 100)
    assert (photo.width, photo.height) == (200, 100)


@pytest.mark.parametrize(
    ("orientation", "size", "red_at", "blue_at"),
    [
        # 6: the camera was turned clockwise; shown rotated 90° clockwise, the left half
        # (red) is on top.
        (6, (100, 200), (50, 20), (50, 180)),
        # 8: turned anticlockwise: the left half ends at the bottom.
        (8, (100, 200), (50, 180), (50, 20)),
        # 3: upside down: left and right swap.
        (3, (200, 100), (180, 50), (20, 50)),
        # 2: mirrored.
        (2, (200, 100), (180, 50), (20, 50)),
        (1, (200, 100), (20, 50), (180, 50)),
    ],
)
def test_the_exif_orientation_is_applied_to_the_pixels(orientation, size, red_at, blue_at):
    photo = photo_prepare(_upload(_jpeg_from_a_phone(orientation)))
    assert (photo.width, photo.height) == size
    for data in (photo.original, photo.display):
        image = _assert_no_metadata(data)
        assert image.size == size
        assert _near(image.getpixel(red_at), RED)
        assert _near(image.getpixel(blue_at), BLUE)


def test_a_png_loses_its_exif_text_and_xmp_and_keeps_its_transparency():
    image = _red_left_blue_right(mode="RGBA")
    image.putpixel((0, 0), (0, 0, 0, 0))
    info = PngInfo()
    info.add_text("Comment", "Taken at 12 Mill Lane")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("GPSPosition", "52.19 -2.22", zip=True)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, exif=_exif(6).tobytes(), icc_profile=SRGB_PROFILE)
    with Image.open(io.BytesIO(buffer.getvalue())) as sent:
        assert sent.text
        assert "exif" in sent.info
    photo = photo_prepare(_upload(buffer.getvalue(), "screenshot.png", "image/png"))
    assert (photo.content_type, photo.extension) == ("image/png", "png")
    for data in (photo.original, photo.display):
        clean = _assert_no_metadata(data)
        assert clean.format == "PNG"
        assert clean.mode == "RGBA"
        assert clean.size == (100, 200)  # upright
        assert clean.getpixel((99, 0))[3] == 0  # the transparent corner, turned with it
        assert clean.getpixel((50, 20)) == (*RED, 255)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_a_webp_loses_its_exif_xmp_and_profile():
    buffer = io.BytesIO()
    _red_left_blue_right().save(
        buffer,
        "WEBP",
        quality=95,
        exif=_exif(6).tobytes(),
        xmp=XMP,
        icc_profile=SRGB_PROFILE,
    )
    with Image.open(io.BytesIO(buffer.getvalue())) as sent:
        assert {"exif", "xmp", "icc_profile"} <= set(sent.info)  # the premise
    photo = photo_prepare(_upload(buffer.getvalue(), "photo.webp", "image/webp"))
    assert (photo.content_type, photo.extension) == ("image/webp", "webp")
    for data in (photo.original, photo.display):
        clean = _assert_no_metadata(data)
        assert clean.format == "WEBP"
        assert clean.size == (100, 200)
        assert _near(clean.getpixel((50, 20)), RED)


def test_a_cmyk_jpeg_becomes_rgb():
    buffer = io.BytesIO()
    _red_left_blue_right(mode="CMYK").save(buffer, "JPEG", exif=_exif().tobytes())
    photo = photo_prepare(_upload(buffer.getvalue()))
    clean = _assert_no_metadata(photo.original)
    assert clean.mode == "RGB"
    assert _near(clean.getpixel((20, 50)), RED, tolerance=60)


def test_a_profile_that_cannot_be_read_is_dropped_and_the_photo_kept():
    buffer = io.BytesIO()
    _red_left_blue_right().save(buffer, "JPEG", icc_profile=b"not an ICC profile at all")
    photo = photo_prepare(_upload(buffer.getvalue()))
    clean = _assert_no_metadata(photo.original)
    assert _near(clean.getpixel((20, 50)), RED)


def test_a_sixteen_bit_greyscale_png_keeps_its_greys():
    buffer = io.BytesIO()
    Image.new("I;16", (40, 30), 40_000).save(buffer, "PNG")
    photo = photo_prepare(_upload(buffer.getvalue(), "scan.png", "image/png"))
    clean = _assert_no_metadata(photo.original)
    assert clean.mode == "L"
    assert clean.getpixel((0, 0)) == pytest.approx(40_000 / 256, abs=1)


def test_a_paletted_png_with_a_transparent_colour_stays_transparent():
    image = Image.new("P", (20, 20), 1)
    image.putpalette([0, 0, 0, *RED] + [0] * 762)
    image.putpixel((0, 0), 0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    photo = photo_prepare(_upload(buffer.getvalue(), "icon.png", "image/png"))
    clean = _assert_no_metadata(photo.original)
    assert clean.mode == "RGBA"
    assert clean.getpixel((0, 0))[3] == 0
    assert clean.getpixel((5, 5)) == (*RED, 255)


def test_a_camera_mpo_keeps_its_first_picture_as_a_jpeg():
    buffer = io.BytesIO()
    _red_left_blue_right().save(
        buffer,
        "MPO",
        save_all=True,
        append_images=[Image.new("RGB", (200, 100), "green")],
        exif=_exif(6).tobytes(),
    )
    photo = photo_prepare(_upload(buffer.getvalue()))
    assert photo.content_type == "image/jpeg"
    clean = _assert_no_metadata(photo.original)
    assert clean.format == "JPEG"
    assert getattr(clean, "n_frames", 1) == 1
    assert _near(clean.getpixel((50, 20)), RED)


# --- Sizes ----------------------------------------------------------------------------------


def test_the_display_version_fits_1024_pixels_and_the_original_keeps_every_pixel():
    photo = photo_prepare(_upload(_jpeg_from_a_phone(6, size=(3000, 2000))))
    assert (photo.width, photo.height) == (2000, 3000)
    assert (photo.display_width, photo.display_height) == (683, 1024)
    assert Image.open(io.BytesIO(photo.original)).size == (2000, 3000)
    display = Image.open(io.BytesIO(photo.display))
    assert display.size == (683, 1024)
    assert _near(display.getpixel((341, 100)), RED)
    assert len(photo.display) < len(photo.original)


def test_a_small_photo_is_not_enlarged():
    photo = photo_prepare(_upload(_jpeg_from_a_phone(size=(640, 480))))
    assert (photo.display_width, photo.display_height) == (640, 480)
    assert Image.open(io.BytesIO(photo.display)).size == (640, 480)


# --- Refused --------------------------------------------------------------------------------


def _refusal(data: bytes, name: str = "photo.jpg") -> PhotoError:
    with pytest.raises(PhotoError) as refused:
        photo_prepare(_upload(data, name))
    return refused.value


WRONG_TYPE = "The selected file must be a JPG, PNG or WebP photo"


def test_a_text_file_named_jpg_is_refused():
    refusal = _refusal(b"Dear council, there is a pothole on Mill Lane.\n" * 20, "pothole.jpg")
    assert refusal.code == "wrong_type"
    assert str(refusal) == WRONG_TYPE


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "PDF"])
def test_other_formats_are_refused_whatever_their_name(fmt):
    buffer = io.BytesIO()
    _red_left_blue_right().save(buffer, fmt)
    refusal = _refusal(buffer.getvalue(), "photo.jpg")
    assert (refusal.code, str(refusal)) == ("wrong_type", WRONG_TYPE)


@pytest.mark.parametrize("weasyprint_imported", [False, True])
def test_a_truncated_jpeg_is_refused(monkeypatch, weasyprint_imported):
    from PIL import ImageFile

    # WeasyPrint switches Pillow's LOAD_TRUNCATED_IMAGES on for the whole process.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", weasyprint_imported)
    data = _jpeg_from_a_phone(size=(800, 600))
    refusal = _refusal(data[: len(data) // 2])
    assert refusal.code == "image_unreadable"
    assert str(refusal) == (
        "The selected image cannot be opened. Check it opens on your device, then try again"
    )


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_a_truncated_png_or_webp_is_refused_whatever_pillow_is_told(monkeypatch, fmt):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    image = Image.effect_noise((400, 300), 60).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    data = buffer.getvalue()
    assert _refusal(data[: len(data) * 2 // 3], f"photo.{fmt.lower()}").code == "image_unreadable"


def test_a_jpeg_with_only_its_first_bytes_is_refused():
    refusal = _refusal(_jpeg_from_a_phone()[:40])
    assert refusal.code in {"image_unreadable", "wrong_type"}
    assert str(refusal) in {
        WRONG_TYPE,
        "The selected image cannot be opened. Check it opens on your device, then try again",
    }


def test_an_empty_file_is_refused():
    refusal = _refusal(b"")
    assert (refusal.code, str(refusal)) == ("empty", "The selected file is empty")


def test_an_oversized_upload_is_refused_naming_the_limit(settings):
    settings.REPORTS_PHOTO_MAX_BYTES = 2048
    data = _jpeg_from_a_phone(size=(400, 300))
    assert len(data) > 2048
    refusal = _refusal(data)
    assert refusal.code == "too_big"
    assert str(refusal) == "The selected file must be smaller than 2 KB"


def test_an_oversized_stream_without_a_size_is_refused_after_the_limit(settings):
    settings.REPORTS_PHOTO_MAX_BYTES = 2048

    class Stream:
        """A file object that says nothing of its size, as a raw request stream."""

        def __init__(self, data: bytes) -> None:
            self.buffer = io.BytesIO(data)
            self.asked: list[int] = []

        def read(self, size: int = -1, /) -> bytes:
            self.asked.append(size)
            return self.buffer.read(size)

    stream = Stream(_jpeg_from_a_phone(size=(400, 300)))
    with pytest.raises(PhotoError) as refused:
        photo_prepare(stream)
    assert refused.value.code == "too_big"
    assert stream.asked == [2049]  # never more than the limit and one byte


def test_the_default_limit_is_10_mb(settings):
    assert settings.REPORTS_PHOTO_MAX_BYTES == 10 * 1024 * 1024
    upload = _upload(b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024))
    with pytest.raises(PhotoError) as refused:
        photo_prepare(upload)
    assert str(refused.value) == "The selected file must be smaller than 10 MB"


def test_a_photo_of_more_megapixels_than_allowed_is_refused(settings):
    settings.UPLOAD_IMAGE_MAX_MEGAPIXELS = 1
    refusal = _refusal(_jpeg_from_a_phone(size=(1200, 1000)))
    assert refusal.code == "image_too_large"
    assert str(refusal) == (
        "The selected image has too many pixels. Choose an image of 1 megapixels or fewer, "
        "such as a photo taken with a phone"
    )


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(60_000, 60_000), (12_000, 5_000)])
def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(width, height):
    # 3.6 gigapixels is past Pillow's own limit; 60 megapixels only past the setting's 50.
    refusal = _refusal(_png_claiming(width, height), "photo.png")
    assert refusal.code == "image_too_large"
    assert "50 megapixels or fewer" in str(refusal)
