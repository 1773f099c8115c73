"""The errors an ERP document or order file can raise, each saying plainly what is wrong
so an integrator can fix the sending side without reading PlantOS code."""

from __future__ import annotations

from plantos.core.errors import PlantOSError


class ErpDocumentError(PlantOSError):
    """An inbound ERP document or file was rejected; nothing from it was imported."""


class MalformedXmlError(ErpDocumentError):
    """The bytes are not well-formed XML (or not in a declared, known encoding)."""


class ForbiddenXmlError(ErpDocumentError):
    """The document uses a DTD, entity declarations or external references, which
    PlantOS never processes (they are how XML bombs and file disclosure attacks work)."""


class SchemaViolationError(ErpDocumentError):
    """The document is well-formed but does not validate against the B2MML schema;
    ``problems`` lists each violation with its line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the document does not validate against B2MML:\n" + "\n".join(problems))


class MissingFieldError(ErpDocumentError):
    """A field PlantOS needs is absent or empty (``where`` names the element)."""


class UnknownProductError(ErpDocumentError):
    """An order names a product the plant's master data does not know."""


class UnsupportedDocumentError(ErpDocumentError):
    """The root element or namespace is not a B2MML message PlantOS reads."""


class CsvImportError(ErpDocumentError):
    """A CSV order file is wrong; ``problems`` lists each one with its row number."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
