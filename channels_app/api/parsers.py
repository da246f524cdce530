"""JSON bodies read through the one bounded JSON path (`channels_app.inputs.parse_json`).

DRF's own parser hands the stream to `json.load`, which recurses once per nesting level and raises
`RecursionError` (a 500 and a long traceback per request) near 1,000 levels, and which accepts
escaped lone surrogates (`"\\ud800"`) that no database can store. Here the body is read up to the
size limit, its nesting is counted before anything recurses, and only storable text comes out;
every refusal is a `ParseError`, which the API answers as 400 `INVALID_JSON`.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

from channels_app import inputs


class JSONLimitExceeded(ParseError):
    """Valid-looking JSON beyond the API's bounds (depth, size): its detail says which."""


class StrictJSONParser(JSONParser):
    """Strict (no NaN), bounded (depth and size) JSON, refusing text that cannot be stored."""

    max_bytes = inputs.MAX_JSON_BYTES

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})  # text codecs only (no bz2_codec bombs)
        raw = stream.read(self.max_bytes + 1) if stream is not None else b""
        if len(raw) > self.max_bytes:
            raise JSONLimitExceeded(f"The request body is larger than {self.max_bytes // 1024} KiB.")
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise ParseError("The request body is not valid UTF-8.") from None
        depth = inputs.json_depth_problem(text)
        if depth:
            raise JSONLimitExceeded(depth)
        try:
            return inputs.parse_json(text, max_bytes=self.max_bytes)
        except inputs.InputError as exc:
            raise ParseError(exc.message) from None
