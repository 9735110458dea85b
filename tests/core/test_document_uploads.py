"""Uploaded documents are accepted as PDF, JPEG or PNG only when their whole structure is that
type's: a ``%PDF-`` header followed by an HTML page, a PNG with a broken chunk or data after
``IEND``, a truncated JPEG are refused — by the API and the back office alike, storing nothing."""

import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from creditfactory.core.uploads import document_type
from tests.documents import jpeg_bytes, pdf_bytes, png_bytes
from tests.workflows.api_factories import URL, api_setup, body
from workflows.models import ApplicationDocument

HTML = b"<!DOCTYPE html><html><body><script>fetch('/admin/')</script></body></html>"
DAMAGED = "is damaged or holds other content"


def _refused(content) -> str:
    with pytest.raises(ValidationError) as caught:
        document_type(content)
    [message] = caught.value.message_dict["file"]
    return message


def test_complete_documents_are_recognised():
    assert document_type(pdf_bytes()) == "application/pdf"
    assert document_type(png_bytes()) == "image/png"
    assert document_type(jpeg_bytes()) == "image/jpeg"


def test_a_pdf_with_an_xref_stream_is_recognised():
    body_ = b"%PDF-1.5\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    offset = len(body_)
    body_ += (b"2 0 obj\n<< /Type /XRef /Size 3 /W [1 2 1] /Root 1 0 R /Length 0 >>\nstream\n\nendstream\nendobj\n"
              b"startxref\n%d\n%%%%EOF\n" % offset)
    assert document_type(body_) == "application/pdf"


@pytest.mark.parametrize("content", [
    b"%PDF-1.4\n" + HTML,                                 # the polyglot of the issue
    b"%PDF-1.4\n%test\n",                                 # a header and nothing else
    pdf_bytes()[:-7],                                     # truncated: no %%EOF
    pdf_bytes().replace(b"startxref\n", b"startxref\n9"),  # startxref past the end of the file
    pdf_bytes().replace(b"trailer", b"trailor"),          # no trailer
    pdf_bytes(extra=b" " + HTML),                         # HTML inside a content stream
    pdf_bytes(extra=b" /S /JavaScript /JS (app.alert(1))"),  # active content
    pdf_bytes() + HTML,                                   # a page appended after %%EOF
])
def test_a_pdf_that_only_starts_like_one_is_refused(content):
    assert DAMAGED in _refused(content)


def _png_with(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in chunks:
        out += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return out


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,                   # a signature and zeros
    png_bytes()[:-1],                                      # truncated
    png_bytes()[:-4] + b"\x00\x00\x00\x00",                # IEND with a wrong CRC
    png_bytes() + HTML,                                    # data after IEND
    png_bytes().replace(b"\x00\x00\x00\x01\x00\x00\x00\x01", b"\x00\x00\x00\x00\x00\x00\x00\x01"),  # width 0
    _png_with([(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)), (b"IEND", b"")]),  # no IDAT
    _png_with([(b"IDAT", b"x"), (b"IEND", b"")]),          # IHDR not first
    _png_with([(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)), (b"IDAT", b"x"),
               (b"tEXt", b"c\x00" + HTML), (b"IEND", b"")]),  # HTML in a text chunk
])
def test_a_png_that_only_starts_like_one_is_refused(content):
    assert DAMAGED in _refused(content)


@pytest.mark.parametrize("content", [
    b"\xff\xd8\xff" + HTML,                                # a signature and a page
    jpeg_bytes()[:-2],                                     # no EOI
    jpeg_bytes()[:40],                                     # truncated in a segment
    jpeg_bytes() + HTML,                                   # data after EOI
    b"\xff\xd8\xff\xd9",                                   # EOI without frame and scan
])
def test_a_jpeg_that_only_starts_like_one_is_refused(content):
    assert DAMAGED in _refused(content)


def test_padding_after_a_jpeg_is_fine():
    assert document_type(jpeg_bytes() + b"\x00" * 16) == "image/jpeg"


@pytest.mark.parametrize("content", [b"GIF89a....", b"", HTML, b"PK\x03\x04zip"])
def test_other_files_are_not_documents(content):
    assert _refused(content) == "Upload a PDF, JPEG or PNG file."


@pytest.mark.django_db
def test_the_api_refuses_the_polyglot_and_stores_nothing(django_capture_on_commit_callbacks):
    api = api_setup()
    with django_capture_on_commit_callbacks(execute=True):
        application_id = api.client.post(URL, body(), format="json").json()["id"]
    response = api.client.post(f"{URL}/{application_id}/documents",
                               {"file": SimpleUploadedFile("payslip.pdf", b"%PDF-1.7\n" + HTML)}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"] and DAMAGED in response.json()["errors"]["file"][0]
    assert ApplicationDocument.objects.count() == 0
    accepted = api.client.post(f"{URL}/{application_id}/documents",
                               {"file": SimpleUploadedFile("payslip.pdf", pdf_bytes())}, format="multipart")
    assert accepted.status_code == 201
    assert ApplicationDocument.objects.get().content_type == "application/pdf"
