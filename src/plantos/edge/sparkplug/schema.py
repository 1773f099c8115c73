"""The Sparkplug B protobuf schema (``org.eclipse.tahu.protobuf``, proto2), built in code.

The schema is written here from the Sparkplug 3.0 specification, chapter 6
(Payloads), as a ``FileDescriptorProto`` instead of a generated ``_pb2`` module:
no ``protoc`` step, no generated file to keep in step with the protobuf runtime,
and the descriptor lives in a private pool so it never clashes with another
library that registers the same ``sparkplug_b.proto`` in the default pool.
A unit test compiles the reference ``.proto`` with ``protoc`` and checks every
message, field, oneof, extension range and enum value against this one.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor

PACKAGE = "org.eclipse.tahu.protobuf"
FILE_NAME = "plantos/sparkplug_b.proto"
_MAX_FIELD = 536_870_912  # exclusive end of ``extensions N to max`` (2**29)

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "bool": _F.TYPE_BOOL,
    "uint32": _F.TYPE_UINT32,
    "uint64": _F.TYPE_UINT64,
    "float": _F.TYPE_FLOAT,
    "double": _F.TYPE_DOUBLE,
}

# (name, number): the DataType enum of chapter 6, numbers as the specification gives them.
DATA_TYPES: tuple[tuple[str, int], ...] = tuple(
    (name, number)
    for number, name in enumerate(
        [
            "Unknown",
            "Int8",
            "Int16",
            "Int32",
            "Int64",
            "UInt8",
            "UInt16",
            "UInt32",
            "UInt64",
            "Float",
            "Double",
            "Boolean",
            "String",
            "DateTime",
            "Text",
            "UUID",
            "DataSet",
            "Bytes",
            "File",
            "Template",
            "PropertySet",
            "PropertySetList",
            "Int8Array",
            "Int16Array",
            "Int32Array",
            "Int64Array",
            "UInt8Array",
            "UInt16Array",
            "UInt32Array",
            "UInt64Array",
            "FloatArray",
            "DoubleArray",
            "BooleanArray",
            "StringArray",
            "DateTimeArray",
        ]
    )
)

# A field: (name, number, label, type) where type is a scalar name or a message path
# relative to the package ("Payload.Metric"); label "oneof" puts it in the message's oneof.
_Field = tuple[str, int, str, str]

_TYPED_VALUES: tuple[_Field, ...] = (
    ("int_value", 0, "oneof", "uint32"),
    ("long_value", 0, "oneof", "uint64"),
    ("float_value", 0, "oneof", "float"),
    ("double_value", 0, "oneof", "double"),
    ("boolean_value", 0, "oneof", "bool"),
    ("string_value", 0, "oneof", "string"),
)


def _numbered(fields: tuple[_Field, ...], first: int) -> tuple[_Field, ...]:
    return tuple((n, first + i, label, t) for i, (n, _, label, t) in enumerate(fields))


def _extension_holder(name: str) -> dict[str, Any]:
    return {"name": name, "fields": (), "extensions": 1}


_PARAMETER = {
    "name": "Parameter",
    "fields": (
        ("name", 1, "optional", "string"),
        ("type", 2, "optional", "uint32"),
        *_numbered(_TYPED_VALUES, 3),
        ("extension_value", 9, "oneof", "Payload.Template.Parameter.ParameterValueExtension"),
    ),
    "nested": (_extension_holder("ParameterValueExtension"),),
}
_TEMPLATE = {
    "name": "Template",
    "fields": (
        ("version", 1, "optional", "string"),
        ("metrics", 2, "repeated", "Payload.Metric"),
        ("parameters", 3, "repeated", "Payload.Template.Parameter"),
        ("template_ref", 4, "optional", "string"),
        ("is_definition", 5, "optional", "bool"),
    ),
    "nested": (_PARAMETER,),
    "extensions": 6,
}
_DATASET = {
    "name": "DataSet",
    "fields": (
        ("num_of_columns", 1, "optional", "uint64"),
        ("columns", 2, "repeated", "string"),
        ("types", 3, "repeated", "uint32"),
        ("rows", 4, "repeated", "Payload.DataSet.Row"),
    ),
    "nested": (
        {
            "name": "DataSetValue",
            "fields": (
                *_numbered(_TYPED_VALUES, 1),
                (
                    "extension_value",
                    7,
                    "oneof",
                    "Payload.DataSet.DataSetValue.DataSetValueExtension",
                ),
            ),
            "nested": (_extension_holder("DataSetValueExtension"),),
        },
        {
            "name": "Row",
            "fields": (("elements", 1, "repeated", "Payload.DataSet.DataSetValue"),),
            "extensions": 2,
        },
    ),
    "extensions": 5,
}
_PROPERTY_VALUE = {
    "name": "PropertyValue",
    "fields": (
        ("type", 1, "optional", "uint32"),
        ("is_null", 2, "optional", "bool"),
        *_numbered(_TYPED_VALUES, 3),
        ("propertyset_value", 9, "oneof", "Payload.PropertySet"),
        ("propertysets_value", 10, "oneof", "Payload.PropertySetList"),
        ("extension_value", 11, "oneof", "Payload.PropertyValue.PropertyValueExtension"),
    ),
    "nested": (_extension_holder("PropertyValueExtension"),),
}
_PROPERTY_SET = {
    "name": "PropertySet",
    "fields": (
        ("keys", 1, "repeated", "string"),
        ("values", 2, "repeated", "Payload.PropertyValue"),
    ),
    "extensions": 3,
}
_PROPERTY_SET_LIST = {
    "name": "PropertySetList",
    "fields": (("propertyset", 1, "repeated", "Payload.PropertySet"),),
    "extensions": 2,
}
_METADATA = {
    "name": "MetaData",
    "fields": (
        ("is_multi_part", 1, "optional", "bool"),
        ("content_type", 2, "optional", "string"),
        ("size", 3, "optional", "uint64"),
        ("seq", 4, "optional", "uint64"),
        ("file_name", 5, "optional", "string"),
        ("file_type", 6, "optional", "string"),
        ("md5", 7, "optional", "string"),
        ("description", 8, "optional", "string"),
    ),
    "extensions": 9,
}
_METRIC = {
    "name": "Metric",
    "fields": (
        ("name", 1, "optional", "string"),
        ("alias", 2, "optional", "uint64"),
        ("timestamp", 3, "optional", "uint64"),
        ("datatype", 4, "optional", "uint32"),
        ("is_historical", 5, "optional", "bool"),
        ("is_transient", 6, "optional", "bool"),
        ("is_null", 7, "optional", "bool"),
        ("metadata", 8, "optional", "Payload.MetaData"),
        ("properties", 9, "optional", "Payload.PropertySet"),
        *_numbered(_TYPED_VALUES, 10),
        ("bytes_value", 16, "oneof", "bytes"),
        ("dataset_value", 17, "oneof", "Payload.DataSet"),
        ("template_value", 18, "oneof", "Payload.Template"),
        ("extension_value", 19, "oneof", "Payload.Metric.MetricValueExtension"),
    ),
    "nested": (_extension_holder("MetricValueExtension"),),
}
_PAYLOAD = {
    "name": "Payload",
    "fields": (
        ("timestamp", 1, "optional", "uint64"),
        ("metrics", 2, "repeated", "Payload.Metric"),
        ("seq", 3, "optional", "uint64"),
        ("uuid", 4, "optional", "string"),
        ("body", 5, "optional", "bytes"),
    ),
    "nested": (
        _TEMPLATE,
        _DATASET,
        _PROPERTY_VALUE,
        _PROPERTY_SET,
        _PROPERTY_SET_LIST,
        _METADATA,
        _METRIC,
    ),
    "extensions": 6,
}


def _message(spec: dict[str, Any]) -> descriptor_pb2.DescriptorProto:
    msg = descriptor_pb2.DescriptorProto(name=spec["name"])
    for name, number, label, type_ in spec["fields"]:
        field = msg.field.add(name=name, number=number, json_name=_json_name(name))
        field.label = _F.LABEL_REPEATED if label == "repeated" else _F.LABEL_OPTIONAL
        if type_ in _SCALARS:
            field.type = _SCALARS[type_]
        else:
            field.type = _F.TYPE_MESSAGE
            field.type_name = f".{PACKAGE}.{type_}"
        if label == "oneof":
            if not msg.oneof_decl:
                msg.oneof_decl.add(name="value")
            field.oneof_index = 0
    for nested in spec.get("nested", ()):
        msg.nested_type.append(_message(nested))
    if "extensions" in spec:
        msg.extension_range.add(start=spec["extensions"], end=_MAX_FIELD)
    return msg


def _json_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def file_descriptor_proto() -> descriptor_pb2.FileDescriptorProto:
    """The whole schema as a fresh ``FileDescriptorProto`` (the caller may modify it)."""
    file = descriptor_pb2.FileDescriptorProto(name=FILE_NAME, package=PACKAGE, syntax="proto2")
    enum = file.enum_type.add(name="DataType")
    for name, number in DATA_TYPES:
        enum.value.add(name=name, number=number)
    file.message_type.append(_message(_PAYLOAD))
    return file


POOL = descriptor_pool.DescriptorPool()
FILE = POOL.Add(file_descriptor_proto())


def _descriptor(path: str) -> Descriptor:
    return POOL.FindMessageTypeByName(f"{PACKAGE}.{path}")


DATA_TYPE_ENUM: EnumDescriptor = POOL.FindEnumTypeByName(f"{PACKAGE}.DataType")

# Message classes; typed ``Any`` because they are made at run time, not generated.
Payload: Any = message_factory.GetMessageClass(_descriptor("Payload"))
Metric: Any = message_factory.GetMessageClass(_descriptor("Payload.Metric"))
MetaData: Any = message_factory.GetMessageClass(_descriptor("Payload.MetaData"))
PropertyValue: Any = message_factory.GetMessageClass(_descriptor("Payload.PropertyValue"))
PropertySet: Any = message_factory.GetMessageClass(_descriptor("Payload.PropertySet"))
PropertySetList: Any = message_factory.GetMessageClass(_descriptor("Payload.PropertySetList"))
DataSet: Any = message_factory.GetMessageClass(_descriptor("Payload.DataSet"))
DataSetRow: Any = message_factory.GetMessageClass(_descriptor("Payload.DataSet.Row"))
DataSetValue: Any = message_factory.GetMessageClass(_descriptor("Payload.DataSet.DataSetValue"))
Template: Any = message_factory.GetMessageClass(_descriptor("Payload.Template"))
TemplateParameter: Any = message_factory.GetMessageClass(_descriptor("Payload.Template.Parameter"))
