/** Generated with CPython 3 json.dumps(v, sort_keys=True, indent=2): [name, input (compact JSON), expected]. */
export const PYTHON_JSON_CASES: [string, string, string][] = [
  [
    "empty containers",
    "{\"a\": [], \"b\": {}, \"c\": [[], {}]}",
    "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    [],\n    {}\n  ]\n}"
  ],
  [
    "escapes",
    "{\"s\": \"quote\\\" back\\\\ nl\\n cr\\r tab\\t bs\\b ff\\f nul\\u0000 esc\\u001b del\\u007f slash/ \"}",
    "{\n  \"s\": \"quote\\\" back\\\\ nl\\n cr\\r tab\\t bs\\b ff\\f nul\\u0000 esc\\u001b del\\u007f slash/ \"\n}"
  ],
  [
    "non-ascii",
    "{\"s\": \"\\u00e9 \\u00fc \\u20ac \\u2028 \\ufeff \\ud83d\\ude00 \\ud834\\udd1e\"}",
    "{\n  \"s\": \"\\u00e9 \\u00fc \\u20ac \\u2028 \\ufeff \\ud83d\\ude00 \\ud834\\udd1e\"\n}"
  ],
  [
    "key order by code point",
    "{\"b\": 1, \"a\": 2, \"B\": 3, \"_\": 4, \"aa\": 5, \"\\ue000\": 6, \"\\ud83d\\ude00\": 7, \"\\u00e9\": 8, \"\": 9, \"\\uffff\": 10, \"\\ud834\\udd1e\": 11}",
    "{\n  \"\": 9,\n  \"B\": 3,\n  \"_\": 4,\n  \"a\": 2,\n  \"aa\": 5,\n  \"b\": 1,\n  \"\\u00e9\": 8,\n  \"\\ue000\": 6,\n  \"\\uffff\": 10,\n  \"\\ud834\\udd1e\": 11,\n  \"\\ud83d\\ude00\": 7\n}"
  ],
  [
    "numbers",
    "[0, -0.0, 1, -1, 4294967294, 9007199254740991, 1.5, -2.25, 0.1, 1e-05, 0.0001, 0.00012, 123456789.123, 1e+16, 1.5e+16, 1e+22, 1.7976931348623157e+308, 5e-324, 9007199254740992.0, 123456789012345.6]",
    "[\n  0,\n  -0.0,\n  1,\n  -1,\n  4294967294,\n  9007199254740991,\n  1.5,\n  -2.25,\n  0.1,\n  1e-05,\n  0.0001,\n  0.00012,\n  123456789.123,\n  1e+16,\n  1.5e+16,\n  1e+22,\n  1.7976931348623157e+308,\n  5e-324,\n  9007199254740992.0,\n  123456789012345.6\n]"
  ],
  [
    "literals",
    "[true, false, null, \"true\"]",
    "[\n  true,\n  false,\n  null,\n  \"true\"\n]"
  ],
  [
    "nesting",
    "{\"x\": [{\"y\": [1, {\"z\": null}]}]}",
    "{\n  \"x\": [\n    {\n      \"y\": [\n        1,\n        {\n          \"z\": null\n        }\n      ]\n    }\n  ]\n}"
  ]
];
