"""Good and bad identifiers, shared by the Python tests and the lifecycle-script tests.

One table for both so the bash validation in lifecycle-configs/ and
jupyter_emr_roles.identifiers can never disagree about what is a valid value.
"""

GOOD_ACCOUNTS = [
    "123456789012",
    "000000000000",
    "999999999999",
    "012345678901",
    "100000000001",
    "111111111111",
    "123456789013",
    "555555555555",
    "987654321098",
    "000000000001",
]

BAD_ACCOUNTS = [
    "",
    "12345678901",  # 11 digits
    "1234567890123",  # 13 digits
    "12345678901a",
    " 123456789012",
    "123456789012 ",
    "123456789012\n",
    "1234-5678-9012",
    "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic digits
    "１２３４５６７８９０１２",  # full-width digits
    "123456789012;",
    "$(id)",
    "'123456789012'",
    "123_456_789_012",
    "-12345678901",
    "12345678901.",
    "0",
    "1e11",
    "+12345678901",
    "12345678901 2",
    "123456789012\x00",
    "arn:aws:iam::123456789012:root",
    "12345678901O",  # letter O, not zero
    "l23456789012",  # letter l, not one
    "\uff1123456789012",  # one full-width digit
]

GOOD_CLUSTERS = [
    "j-1K48XXXXXXHCB",
    "j-ABCDEFGHIJKLM",
    "j-3SD91U2E1L2QX",
    "j-0",
    "j-Z",
    "j-" + "A" * 64,
    "j-2AXXXXXXGAPLF",
    "j-123",
    "j-ABC123DEF456G",
    "j-1",
    "j-3UN6WX5RRO2AG",
]

BAD_CLUSTERS = [
    "",
    "j-",
    "J-1K48XXXXXXHCB",
    "j-1k48xxxxxxhcb",  # lower case
    "j_1K48XXXXXXHCB",
    "1K48XXXXXXHCB",
    "j-1K48XXXXXXHCB ",
    " j-1K48XXXXXXHCB",
    "j-1K48XXXXXXHCB\n",
    "j-1K48XXXXXXHCB;rm -rf /",
    "j-$(id)",
    "j-`id`",
    "j-1K48'XX",
    'j-1K48"XX',
    "j-1K48-XXXX",
    "j-ΑΒΓ",  # Greek capitals that look Latin
    "j-1К48",  # Cyrillic K
    "j-" + "A" * 65,
    "s-1K48XXXXXXHCB",  # a step ID, not a cluster
    "j-1K48XXXXXXHCB\t",
    "j\u20131K48XXXXXXHCB",  # en dash
    "j-1K48XXXXXXHCB/",
    "j-1K48XXXXXXHCB\x00",
    "-1K48XXXXXXHCB",
    "jj-1K48XXXXXXHCB",
    "j--1K48XXXXXXHCB",
    "j-1K48 XXXXXXHCB",
    "j-\uff21\uff22\uff23",  # full-width ABC
]

GOOD_ROLE_ARNS = [
    "arn:aws:iam::123456789012:role/sales-data-access",
    "arn:aws:iam::123456789012:role/emr-execution-role-1",
    "arn:aws-cn:iam::123456789012:role/cn-role",
    "arn:aws-us-gov:iam::123456789012:role/gov.role",
    "arn:aws:iam::123456789012:role/service-role/AmazonEMR-ExecutionRole",
    "arn:aws:iam::123456789012:role/a/b/c/deep",
    "arn:aws:iam::123456789012:role/with+=,.@_-chars",
    "arn:aws:iam::000000000000:role/x",
    "arn:aws:iam::123456789012:role/" + "n" * 64,
    "arn:aws:iam::210987654321:role/AmazonSageMaker-ExecutionRole-20221107T123456",
]

BAD_ROLE_ARNS = [
    "",
    "arn",
    "sales-data-access",
    "arn:aws:iam::123456789012:role/",
    "arn:aws:iam::123456789012:role",
    "arn:aws:iam::123456789012:user/alice",
    "arn:aws:iam::123456789012:instance-profile/EMR_EC2_DefaultRole",
    "arn:aws:sts::123456789012:assumed-role/sales/session",
    "arn:aws:iam:us-east-1:123456789012:role/regional",
    "arn:aws:iam::12345678901:role/short-account",
    "arn:aws:iam::1234567890123:role/long-account",
    "arn:aws-iso:iam::123456789012:role/other-partition",
    "arn:AWS:iam::123456789012:role/upper-partition",
    "ARN:aws:iam::123456789012:role/upper-arn",
    "arn:aws:iam::123456789012:role/" + "n" * 65,
    "arn:aws:iam::123456789012:role/has space",
    "arn:aws:iam::123456789012:role/quote'",
    'arn:aws:iam::123456789012:role/dquote"',
    "arn:aws:iam::123456789012:role/semi;colon",
    "arn:aws:iam::123456789012:role/x;rm -rf ~",
    "arn:aws:iam::123456789012:role/$(id)",
    "arn:aws:iam::123456789012:role/`id`",
    "arn:aws:iam::123456789012:role/new\nline",
    "arn:aws:iam::123456789012:role/tab\tname",
    "arn:aws:iam::123456789012:role/sаles",  # Cyrillic 'а'
    "arn:aws:iam::123456789012:role/x ",
    " arn:aws:iam::123456789012:role/x",
    "arn:aws:iam::123456789012:role//double-slash",
    "arn:aws:iam::123456789012:role/back\\slash",
    "arn:aws:iam::123456789012:role/colon:name",
    "arn:aws:iam::123456789012:role/star*",
    "arn:aws:iam::123456789012:role/pipe|cat",
    "arn:aws:iam::123456789012:role/amp&bg",
    "arn:aws:iam::123456789012:role/null\x00byte",
    "arn:aws:iam::123456789012:role/<script>",
]

GOOD_SESSION_NAMES = [
    "sales",
    "sales-data-access",
    "a",
    "A1",
    "x" * 64,
    "team+eu=1,2.3@x_y-z",
    "EMR_session",
    "0",
    "marketing.eu",
    "analyst@team",
]

BAD_SESSION_NAMES = [
    "",
    "x" * 65,
    "a b",
    "sales\n",
    " sales",
    "sales;rm -rf ~",
    "$(id)",
    "sales'",
    'sales"',
    "sales/eu",
    "säles",  # non-ASCII letter
    "sаles",  # Cyrillic а
    "sales\t",
    "sales\x00",
    "sales:1",
    "sales#1",
    "sales%20",
    "(sales)",
    "[sales]",
    "sales*",
]

GOOD_APPLICATIONS = [
    "00fabcdefghij012",
    "00f1m2n3o4p5q6r7",
    "abcdefghijklmnop",
    "0123456789012345",
    "a",
    "z" * 64,
]

BAD_APPLICATIONS = [
    "",
    "00FABCDEFGHIJ012",  # upper case
    "j-1K48XXXXXXHCB",  # a cluster ID
    "00fabcdefghij012 ",
    " 00fabcdefghij012",
    "00fabcdefghij012\n",
    "00fabcdefghij-12",
    "00fabcdefghij_12",
    "00fabcdefghij.12",
    "a" * 65,
    "00fabcdefghij01\u0430",  # Cyrillic a
    "００fabcdefghij012",  # full-width digits
    "$(id)",
    "'00fabcdefghij012'",
    "00fabcdefghij012;",
    "00fab/cdefghij012",
    "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00fabcdefghij012",
    "00fab cdefghij012",
    "00fabcdefghij012\x00",
    "../00fabcdefghij0",
    "00fabcdefghij01%",
    "00fabcdefghij01*",
    "00fabcdefghij01`",
    "00fabcdefghij01|",
]
