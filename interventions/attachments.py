"""What a ticket attachment may be: the allowed formats, checked on the name AND on the bytes.

A file is accepted when its extension is in :data:`ALLOWED` and its first bytes
match that format (a ``.pdf`` must start with ``%PDF-``, a ``.png`` with the PNG
signature, a text file must not be binary…). Whatever the extension, a file that
starts like a program (Windows ``MZ``, Linux ELF, macOS Mach-O, Java class, a
``#!`` script) is refused. ZIP archives are opened: a member with a program
extension or program bytes, or an encrypted member (its content cannot be
checked), refuses the archive; Office Open XML documents must be valid ZIP
packages without macros (``vbaProject.bin``). The stored content type is the one
of the format found here, never the one the browser sent.

Limits (documented in docs/interventions.md): legacy Office files (.doc, .xls,
.ppt) are OLE containers, like .msi installers: only the container signature is
checked; macros inside them are not detected.
"""
import codecs
import os
import unicodedata
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SNIFF_BYTES = 8192
ZIP_MAX_MEMBERS = 2000

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
PDF = b"%PDF-"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")

# Programs, whatever their name: Windows PE/DOS, ELF, Mach-O (both byte orders, 32/64 bits),
# fat Mach-O / Java class files, scripts with an interpreter line.
EXECUTABLE_SIGNATURES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "dll", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "mst", "cpl", "sys", "drv", "ocx",
    "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "jar", "lnk", "reg", "inf", "sh", "bash",
    "app", "apk", "deb", "rpm", "elf", "run", "scf", "url", "iso", "img", "vhd", "vhdx",
})


@dataclass(frozen=True)
class Format:
    """One accepted format: the content type served, and how its bytes are recognised."""

    content_type: str
    kind: str  # the check to run on the first bytes (see ``_matches``)


ALLOWED: dict[str, Format] = {
    # Images (screenshots of an error message, photos of a device)
    "png": Format("image/png", "png"),
    "jpg": Format("image/jpeg", "jpeg"),
    "jpeg": Format("image/jpeg", "jpeg"),
    "gif": Format("image/gif", "gif"),
    "webp": Format("image/webp", "webp"),
    "bmp": Format("image/bmp", "bmp"),
    "tif": Format("image/tiff", "tiff"),
    "tiff": Format("image/tiff", "tiff"),
    # PDF
    "pdf": Format("application/pdf", "pdf"),
    # Text and logs
    "txt": Format("text/plain", "text"),
    "log": Format("text/plain", "text"),
    "csv": Format("text/csv", "text"),
    "json": Format("application/json", "text"),
    "xml": Format("application/xml", "text"),
    "ini": Format("text/plain", "text"),
    "conf": Format("text/plain", "text"),
    "cfg": Format("text/plain", "text"),
    "evtx": Format("application/octet-stream", "evtx"),  # Windows event log export
    # Office documents
    "docx": Format("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "ooxml"),
    "xlsx": Format("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "ooxml"),
    "pptx": Format("application/vnd.openxmlformats-officedocument.presentationml.presentation", "ooxml"),
    "odt": Format("application/vnd.oasis.opendocument.text", "odf"),
    "ods": Format("application/vnd.oasis.opendocument.spreadsheet", "odf"),
    "odp": Format("application/vnd.oasis.opendocument.presentation", "odf"),
    "doc": Format("application/msword", "ole"),
    "xls": Format("application/vnd.ms-excel", "ole"),
    "ppt": Format("application/vnd.ms-powerpoint", "ole"),
    "rtf": Format("application/rtf", "rtf"),
    # Archives
    "zip": Format("application/zip", "zip"),
}

ALLOWED_HELP = gettext_lazy(
    "images (PNG, JPEG, GIF, WebP, BMP, TIFF), PDF, texte et journaux (TXT, LOG, CSV, JSON, XML, INI, EVTX), "
    "documents bureautiques (Word, Excel, PowerPoint, OpenDocument, RTF) et archives ZIP"
)


class Refused(Exception):
    """The file is not accepted; ``code`` says why (``type``, ``disguised``, ``executable``, ``empty``)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def clean_filename(name: str) -> str:
    """The name as the user knows it, without any folder part or control character (at most 255 chars)."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        return "fichier"
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 10:
        return stem[: 254 - len(ext)] + "." + ext
    return name[:255]


def extension(name: str) -> str:
    _stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def _is_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Windows "Unicode" exports
        try:
            codecs.getincrementaldecoder("utf-16")().decode(head, final=False)
        except UnicodeDecodeError:
            return False
        return True
    return b"\x00" not in head


def _matches(kind: str, head: bytes) -> bool:
    checks = {
        "png": lambda: head.startswith(PNG),
        "jpeg": lambda: head.startswith(JPEG),
        "gif": lambda: head.startswith((b"GIF87a", b"GIF89a")),
        "webp": lambda: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
        "bmp": lambda: head.startswith(b"BM"),
        "tiff": lambda: head.startswith((b"II*\x00", b"MM\x00*")),
        "pdf": lambda: head.lstrip(b"\xef\xbb\xbf\r\n\t ")[:5] == PDF,
        "text": lambda: _is_text(head),
        "evtx": lambda: head.startswith(b"ElfFile\x00"),
        "ooxml": lambda: head.startswith(ZIP_SIGNATURES),
        "odf": lambda: head.startswith(ZIP_SIGNATURES),
        "ole": lambda: head.startswith(OLE),
        "rtf": lambda: head.startswith(b"{\\rtf"),
        "zip": lambda: head.startswith(ZIP_SIGNATURES),
    }
    return checks[kind]()


def _check_zip(file, *, name: str, kind: str) -> None:
    """Open the ZIP package: no program inside, nothing encrypted, an Office file has its parts and no macro."""
    bad_zip = Refused(_("« %(name)s » n'est pas une archive ou un document valide.") % {"name": name},
                      code="disguised")
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                raise Refused(_("« %(name)s » contient trop de fichiers (%(max)s au plus).")
                              % {"name": name, "max": ZIP_MAX_MEMBERS}, code="type")
            names = {m.filename for m in members}
            if kind == "ooxml" and "[Content_Types].xml" not in names:
                raise bad_zip
            if kind == "odf" and "mimetype" not in names:
                raise bad_zip
            for member in members:
                lowered = member.filename.lower()
                if kind == "ooxml" and lowered.endswith("vbaproject.bin"):
                    raise Refused(_("« %(name)s » contient des macros : enregistrez-le sans macro ou en PDF.")
                                  % {"name": name}, code="executable")
                if member.flag_bits & 0x1:
                    raise Refused(_("« %(name)s » est protégé par un mot de passe : son contenu ne peut pas être "
                                    "vérifié. Envoyez-le sans mot de passe.") % {"name": name}, code="type")
                if member.is_dir():
                    continue
                if extension(lowered) in EXECUTABLE_EXTENSIONS:
                    raise Refused(_("« %(name)s » contient un programme (%(member)s) : refusé.")
                                  % {"name": name, "member": member.filename}, code="executable")
                if kind == "zip" and member.file_size:
                    with archive.open(member) as inner:
                        if inner.read(8).startswith(EXECUTABLE_SIGNATURES):
                            raise Refused(_("« %(name)s » contient un programme (%(member)s) : refusé.")
                                          % {"name": name, "member": member.filename}, code="executable")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, OSError) as exc:
        raise bad_zip from exc


def sniff(file, *, name: str) -> Format:
    """The accepted format of ``file`` named ``name``; :class:`Refused` with a French message otherwise."""
    ext = extension(name)
    if ext in EXECUTABLE_EXTENSIONS:
        raise Refused(_("« %(name)s » est un programme : ce type de fichier est refusé.") % {"name": name},
                      code="executable")
    fmt = ALLOWED.get(ext)
    if fmt is None:
        raise Refused(_("« %(name)s » : type de fichier non accepté. Formats acceptés : %(allowed)s.")
                      % {"name": name, "allowed": ALLOWED_HELP}, code="type")
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head:
        raise Refused(_("« %(name)s » est vide.") % {"name": name}, code="empty")
    if head.startswith(EXECUTABLE_SIGNATURES):
        raise Refused(_("« %(name)s » est un programme déguisé en .%(ext)s : refusé.") % {"name": name, "ext": ext},
                      code="executable")
    if not _matches(fmt.kind, head):
        raise Refused(_("« %(name)s » : le contenu ne correspond pas à un fichier .%(ext)s.")
                      % {"name": name, "ext": ext}, code="disguised")
    if fmt.kind in ("ooxml", "odf", "zip"):
        try:
            _check_zip(file, name=name, kind=fmt.kind)
        finally:
            file.seek(0)
    return fmt


def file_size(file) -> int:
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(0)
    return int(size)


def attachment_response(attachment):
    """The stored file as a download (portal and admin): never displayed inline, never sniffed.

    ``Content-Disposition: attachment`` with the original name (RFC 6266 encoding for accents),
    the content type found when it was checked, ``X-Content-Type-Options: nosniff`` and a CSP
    sandbox, so that even a crafted file cannot run in the site's origin. A file missing from
    the storage answers 404.
    """
    from django.core.files.storage import default_storage
    from django.http import FileResponse, Http404

    try:
        handle = default_storage.open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
