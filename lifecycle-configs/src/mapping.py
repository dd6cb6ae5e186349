"""Read the admin's JSON mapping of users to roles, check it, and print the user's entry.

Run by emr-roles-lcc.sh as ``python3 -I -S -c CODE FILE NAME USER METADATA JUPYTERHUB_USER``.
Each line printed is one call of the script's functions (add_account, add_role,
add_default, add_access, add_offer) with (value, origin) arguments, split by
\\x1f, every byte outside printable ASCII (and the backslash) written as \\xHH,
so bash reads the fields back byte for byte. A problem is one line on stderr
and exit status 2 (1 when a file cannot be read).

Parameters are positional-only (``/``) so that python-minifier may rename them:
the attachable script must fit Studio's size limit. Python 3.8 or newer.
"""
import json
import os
import re
import sys

_, MAPPING_FILE, MAPPING_NAME, USER, METADATA, HUB_USER = sys.argv
MAPPING_NAME = "mapping " + MAPPING_NAME


def die(message, status=2, /):
    sys.stderr.write("emr-roles-lcc: error: " + message + "\n")
    sys.exit(status)


def load(path, where, /):
    """Strict JSON: a key twice in one object, NaN or Infinity is an error."""
    try:
        data = open(path, "rb").read()
    except OSError as exc:
        die("cannot read %s: %s" % (where, exc.strerror), 1)

    def unique(pairs, /):
        if len({key for key, _ in pairs}) < len(pairs):
            die(where + ": a key is twice in one object")
        return dict(pairs)

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=unique,
                          parse_constant=lambda name, /: die(where + " holds " + name))
    except (ValueError, RecursionError) as exc:
        die("%s is not valid JSON: %s" % (where, exc))


ESCAPES = {byte: "\\x%02x" % byte for byte in range(256) if not 31 < byte < 127 or byte == 92}


def out(*fields):
    """One call for the script: the function name, then (value, where) pairs."""
    for value, where in zip(fields[1::2], fields[2::2]):
        if "\0" in value:
            die("%s: %s holds a NUL; expected text" % (where, json.dumps(value)[:100]))
    print("\x1f".join(field.encode("utf-8", "surrogatepass").decode("latin-1").translate(ESCAPES)
                      for field in fields))


def where(path, /):
    return MAPPING_NAME + " key " + path if path else MAPPING_NAME


def key_path(path, key, /):
    """``users.alice.roles[0]``; a key of other characters is shown quoted."""
    if type(key) is int:
        return "%s[%d]" % (path, key)
    if not re.fullmatch(r"[\w@+.-]+", key, re.A):
        key = json.dumps(key[:60])
    return path + "." + key if path else key


TYPE_NAMES = dict(dict="an object", list="a list", str="a string", bool="true/false",
                  int="a number")
REQUIRED = ("version", "users", "roles", "arn")


def check(value, shape, path="", /):
    """``value`` against ``shape``: a type, a one-element list, or a dict of keys ("*": any)."""
    kind = type(shape) if type(shape) in (dict, list) else shape
    if type(value) is not kind:
        die("%s: expected %s" % (where(path), TYPE_NAMES[kind.__name__]))
    keys = range(len(value)) if kind is list else value if kind is dict else ()
    for key in keys:
        inner = shape[0] if kind is list else shape.get(key, shape.get("*"))
        if inner is None:
            die("%s: unknown key; expected one of %s" % (where(key_path(path, key)),
                                                         ", ".join(shape)))
        check(value[key], inner, key_path(path, key))
    for key in shape if kind is dict else ():
        if key in REQUIRED and key not in value:
            die("%s: the key %s is missing" % (where(path), key))


ACCOUNTS = {"*": {"roles": [{"arn": str, "label": str, "default": bool}], "access_role": str,
                  "offer_caller_role": bool}}


def the_user(user, /):
    """The user: EMR_USER, else Studio's UserProfileName or SpaceName, else JupyterHub's."""
    said = "EMR_USER"
    if not user and os.path.isfile(METADATA):
        metadata = load(METADATA, METADATA)
        for key in ("UserProfileName", "SpaceName"):
            if not user and type(metadata) is dict and type(metadata.get(key)) is str:
                user, said = metadata[key], key + " in " + METADATA
    if not user:
        user, said = HUB_USER, "JUPYTERHUB_USER"
    if not re.fullmatch(r"[A-Za-z0-9][\w.@+-]{0,127}", user, re.A):
        die("%s: user %s is not valid; expected up to 128 of A-Za-z0-9._@+-"
            % (said, json.dumps(user)[:100]))
    return user


def print_calls(accounts, path, /):
    for account, entry in accounts.items():
        account_path = key_path(path, account)
        out("add_account", account, where(account_path))
        for index, role in enumerate(entry["roles"]):
            role_path = key_path(key_path(account_path, "roles"), index)
            out("add_role", account, where(account_path), role["arn"],
                where(key_path(role_path, "arn")), role.get("label", ""),
                where(key_path(role_path, "label")))
            if role.get("default"):
                out("add_default", account, where(account_path), role["arn"],
                    where(key_path(role_path, "default")))
        if "access_role" in entry:
            out("add_access", account, where(account_path), entry["access_role"],
                where(key_path(account_path, "access_role")))
        if entry.get("offer_caller_role"):
            out("add_offer", account, where(account_path))


mapping = load(MAPPING_FILE, MAPPING_NAME)
check(mapping, {"version": int, "users": {"*": ACCOUNTS}, "default": ACCOUNTS})
if mapping["version"] != 1:
    die("%s: expected 1, found %d" % (where("version"), mapping["version"]))
USER = the_user(USER)
if USER in mapping["users"]:
    print_calls(mapping["users"][USER], key_path("users", USER))
else:
    if "default" not in mapping:
        sys.stderr.write("emr-roles-lcc: notice: %s: no entry for %s and no default; writing "
                         "no roles\n" % (MAPPING_NAME, USER))
    print_calls(mapping.get("default", {}), "default")
