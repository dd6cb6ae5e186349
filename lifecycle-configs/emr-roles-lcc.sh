#!/usr/bin/env bash
# emr-roles-lcc: write the EMR runtime roles a user may pick. For Studio LCCs (JupyterLab,
# JupyterServer), JupyterHub and containers; see lifecycle-configs/README.md. Needs bash 4+;
# python3 for a mapping, aws CLI for s3:/ssm:; flock if present. Exit 2: bad config; 1: cannot
# fetch/write. Edit the defaults or set the env. Lines "ACCOUNT_ID ROLE_ARN [LABEL]", e.g.
# EMR_ROLES="${EMR_ROLES:-
# 123456789012 arn:aws:iam::123456789012:role/sales-data-access Sales
# }"
EMR_ROLES="${EMR_ROLES:-}"
# Lines "ACCOUNT_ID ROLE_ARN": the account's preselected role, one of EMR_ROLES.
EMR_DEFAULT_ROLES="${EMR_DEFAULT_ROLES:-}"
# Lines "ACCOUNT_ID ACCESS_ROLE_ARN": a role to assume first (cross-account).
EMR_ACCESS_ROLES="${EMR_ACCESS_ROLES:-}"
# true: offer the user's own role too.
EMR_OFFER_CALLER_ROLE="${EMR_OFFER_CALLER_ROLE:-false}"
# Or a JSON mapping per user at s3://BUCKET/KEY, ssm:NAME or /path.
EMR_ROLES_MAPPING="${EMR_ROLES_MAPPING:-}"
# The mapping's user; else Studio's UserProfileName/SpaceName; else $JUPYTERHUB_USER.
EMR_USER="${EMR_USER:-}"
EMR_RESOURCE_METADATA="${EMR_RESOURCE_METADATA:-/opt/ml/metadata/resource-metadata.json}"
# Whose files to write (as root, given to this folder's owner).
EMR_ROLES_HOME="${EMR_ROLES_HOME:-${HOME:-}}"
# ---- End of configuration ----
set -euo pipefail
export LC_ALL=C
umask 022
NL=$'\n'
die() { printf 'emr-roles-lcc: error: %s\n' "$2" >&2; exit "$1"; }
bad() { # WHERE WHAT VALUE EXPECTED
  local v; printf -v v %q "${3:0:100}"; ((${#3} <= 100)) || v+=...
  die 2 "$1: $2 $v is not valid; expected $4"
}
C='[A-Za-z0-9+=,.@_-]'
ARN="^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/($C+/)*$C+\$" # name <= 64, path <= 512
B=$'[\x80-\xbf]'
UTF8=$'^([\x01-\x7f]|[\xc2-\xdf]'$B$'|\xe0[\xa0-\xbf]'$B$'|[\xe1-\xec\xee\xef]'$B$B$'|\xed[\x80-\x9f]'$B$'|\xf0[\x90-\xbf]'$B$B$'|[\xf1-\xf3]'$B$B$B$'|\xf4[\x80-\x8f]'$B$B')*$'
# C0, DEL, C1; soft hyphen, zero-width and bidi marks, word joiners, BOM, tags.
CF=$'[[:cntrl:]]|\xc2[\x80-\x9f\xad]|\xe2\x80[\x8b-\x8f\xaa-\xae]|\xe2\x81[\xa0-\xa4\xa6-\xaf]|\xef\xbb\xbf|\xf3\xa0[\x80\x81]'
declare -A ACC=() RL=() SEEN=() DEF=() DW=() ACR=() OFFER=()
ARNS=() LABELS=() TMP=() n=0
trap 'rm -f -- "${TMP[@]+"${TMP[@]}"}"' EXIT
trap 'exit 130' INT; trap 'exit 143' TERM

# Every source becomes calls of these, with (value, origin) pairs.
add_account() {
  if [[ -z $1 || -z ${ACC[$1]:-} ]]; then
    [[ $1 =~ ^[0-9]{12}$ ]] || bad "$2" 'account ID' "$1" '12 digits'
    ACC[$1]=1
  fi
}
role() {
  local r=${1#*:role} m=${1##*/}
  if ! [[ $1 =~ $ARN ]] || ((${#m} > 64 || ${#r} - ${#m} > 512)); then
    bad "$2" 'role ARN' "$1" 'arn:<aws|aws-cn|aws-us-gov>:iam::<12 digits>:role/[path/]name, of A-Za-z0-9+=,.@_-'
  fi
}
add_role() { # ACCOUNT W ARN W LABEL W
  add_account "$1" "$2"; role "$3" "$4"
  local v=$5 c
  [[ $v != *[$'\x80'-$'\xff']* || $v =~ $UTF8 ]] || bad "$6" label "$5" 'UTF-8 text'
  v=${v#"${v%%[! ]*}"} v=${v%"${v##*[! ]}"}
  c=${v//$B/}
  if [[ $v =~ $CF ]] || ((${#c} > 100)); then bad "$6" label "$5" 'up to 100 visible characters'; fi
  v=${v//\\/\\\\}
  if [[ -z ${SEEN[$1 $3]:-} ]]; then
    SEEN[$1 $3]=1 ARNS[n]=$3 LABELS[n]=${v//\"/\\\"} RL[$1]+=" $n" n=$((n + 1))
  fi
}
add_default() { # ACCOUNT W ARN W
  add_account "$1" "$2"; role "$3" "$4"
  [[ ${DEF[$1]:-$3} == "$3" ]] || die 2 "$4: $3 is a 2nd default for $1; expected one (${DEF[$1]})"
  DEF[$1]=$3 DW[$1]=$4
}
add_access() { # ACCOUNT W ARN W
  add_account "$1" "$2"; role "$3" "$4"
  local a=${3#arn:*:iam::}
  [[ ${a%%:*} == "$1" ]] || die 2 "$4: access role $3 is not in $1; expected a role of $1"
  [[ ${ACR[$1]:-$3} == "$3" ]] || die 2 "$4: $3 is a 2nd access role for $1; expected one (${ACR[$1]})"
  ACR[$1]=$3
}
add_offer() { add_account "$1" "$2"; OFFER[$1]=1; }
lines() { # VARIABLE FUNCTION FORMAT
  local i=0 l a b c w
  while IFS= read -r l; do
    i=$((i + 1)) l=${l%$'\r'} w="$1 line $i"
    IFS=$' \t' read -r a b c <<<"$l" || true
    if [[ -z $a || $a == '#'* ]]; then continue; fi
    [[ -n $b && (-z $c || $2 == add_role) ]] || bad "$w" line "$l" "'$3'"
    "$2" "$a" "$w" "$b" "$w" "$c" "$w"
  done <<<"${!1}"
}

H=$EMR_ROLES_HOME M=$EMR_ROLES_MAPPING
[[ $H == /* ]] || bad EMR_ROLES_HOME folder "$H" 'an absolute path'
[[ $EMR_OFFER_CALLER_ROLE =~ ^(true|false)$ ]] || bad EMR_OFFER_CALLER_ROLE value "$EMR_OFFER_CALLER_ROLE" 'true or false'
if [[ -z $M ]]; then
  [[ -n $EMR_ROLES ]] || die 2 'EMR_ROLES and EMR_ROLES_MAPPING are empty; expected one'
  lines EMR_ROLES add_role 'ACCOUNT_ID ROLE_ARN [LABEL]'
  lines EMR_DEFAULT_ROLES add_default 'ACCOUNT_ID ROLE_ARN'
  lines EMR_ACCESS_ROLES add_access 'ACCOUNT_ID ACCESS_ROLE_ARN'
else
  [[ -z $EMR_ROLES$EMR_DEFAULT_ROLES$EMR_ACCESS_ROLES ]] || die 2 'EMR_ROLES_MAPPING and EMR_ROLES or EMR_*_ROLES are set; expected one'
  if [[ $M =~ ^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/|ssm:[A-Za-z0-9_./])[^[:cntrl:]]*$ ]]; then
    cmd=(s3 cp "$M" -)
    [[ $M != ssm:* ]] || cmd=(ssm get-parameter --name "${M#ssm:}" --with-decryption --query Parameter.Value --output text)
    F=$(mktemp 2>&1) || die 1 "$F"
    TMP+=("$F")
    if ! e=$(aws "${cmd[@]}" 2>&1 >"$F"); then
      e=${e//[[:cntrl:]]/ } e=${e#"${e%%[! ]*}"}
      die 1 "cannot fetch the mapping $M with the aws CLI: ${e:0:300}"
    fi
  elif [[ $M =~ ^(file://)?(/[^[:cntrl:]]*)$ ]]; then
    F=${BASH_REMATCH[2]}
  else
    bad EMR_ROLES_MAPPING location "$M" 's3://BUCKET/KEY, ssm:NAME, /path or file:///path'
  fi
  # Python checks the JSON, prints the user's entry as calls: \x1f-split, \xHH-escaped.
  PY='import json,os,re,sys
_,F,N,U,MD,HU=sys.argv
N="mapping "+N
def die(m,c=2):sys.stderr.write("emr-roles-lcc: error: "+m+"\n");sys.exit(c)
def load(p,w):
 try:b=open(p,"rb").read()
 except OSError as x:die("cannot read %s: %s"%(w,x.strerror),1)
 def h(ps):
  if len({k for k,_ in ps})<len(ps):die(w+": a key is twice in one object")
  return dict(ps)
 try:return json.loads(b.decode("utf-8"),object_pairs_hook=h,parse_constant=lambda t:die(w+" holds "+t))
 except (ValueError,RecursionError) as x:die("%s is not valid JSON: %s"%(w,x))
def out(*f):
 for v,w in zip(f[1::2],f[2::2]):
  if "\0" in v:die("%s: %s holds a NUL; expected text"%(w,json.dumps(v)[:100]))
 print("\x1f".join(s.encode("utf-8","surrogatepass").decode("latin-1").translate(E) for s in f))
E={i:"\\x%02x"%i for i in range(256) if not 31<i<127 or i==92}
def W(p):return N+" key "+p if p else N
def K(p,k):
 if type(k) is int:return "%s[%d]"%(p,k)
 if not re.fullmatch(r"[\w@+.-]+",k,re.A):k=json.dumps(k[:60])
 return p+"."+k if p else k
T=dict(dict="an object",list="a list",str="a string",bool="true/false",int="a number")
def c(v,s,p=""):
 t=type(s) if type(s) in (dict,list) else s
 if type(v) is not t:die("%s: expected %s"%(W(p),T[t.__name__]))
 for k in range(len(v)) if t is list else v if t is dict else ():
  x=s[0] if t is list else s.get(k,s.get("*"))
  if x is None:die("%s: unknown key; expected one of %s"%(W(K(p,k)),", ".join(s)))
  c(v[k],x,K(p,k))
 for k in s if t is dict else ():
  if k in ("version","users","roles","arn") and k not in v:die("%s: the key %s is missing"%(W(p),k))
A={"*":{"roles":[{"arn":str,"label":str,"default":bool}],"access_role":str,"offer_caller_role":bool}}
d=load(F,N)
c(d,{"version":int,"users":{"*":A},"default":A})
if d["version"]!=1:die("%s: expected 1, found %d"%(W("version"),d["version"]))
w="EMR_USER"
if not U and os.path.isfile(MD):
 m=load(MD,MD)
 for k in ("UserProfileName","SpaceName"):
  if not U and type(m) is dict and type(m.get(k)) is str:U,w=m[k],k+" in "+MD
if not U:U,w=HU,"JUPYTERHUB_USER"
if not re.fullmatch(r"[A-Za-z0-9][\w.@+-]{0,127}",U,re.A):die("%s: user %s is not valid; expected up to 128 of A-Za-z0-9._@+-"%(w,json.dumps(U)[:100]))
if U in d["users"]:m,p=d["users"][U],K("users",U)
else:
 m,p=d.get("default",{}),"default"
 if p not in d:sys.stderr.write("emr-roles-lcc: notice: %s: no entry for %s and no default; writing no roles\n"%(N,U))
for a,e in m.items():
 pa=K(p,a);out("add_account",a,W(pa))
 for i,r in enumerate(e["roles"]):
  pr=K(K(pa,"roles"),i);out("add_role",a,W(pa),r["arn"],W(K(pr,"arn")),r.get("label",""),W(K(pr,"label")))
  if r.get("default"):out("add_default",a,W(pa),r["arn"],W(K(pr,"default")))
 if "access_role" in e:out("add_access",a,W(pa),e["access_role"],W(K(pa,"access_role")))
 if e.get("offer_caller_role"):out("add_offer",a,W(pa))'
  command -v python3 >/dev/null || die 1 'python3 is needed for a mapping'
  R=$(python3 -I -S -c "$PY" "$F" "$M" "$EMR_USER" "$EMR_RESOURCE_METADATA" "${JUPYTERHUB_USER:-}") || exit
  while IFS=$'\x1f' read -r -a rec; do
    for i in ${rec[@]+"${!rec[@]}"}; do [[ ${rec[i]} != *\\* ]] || printf -v "rec[$i]" %b "${rec[i]}"; done
    case ${rec[0]:-} in add_account | add_role | add_default | add_access | add_offer) "${rec[@]}" ;; esac
  done <<<"$R"
fi
for a in ${DEF[@]+"${!DEF[@]}"}; do
  [[ -n ${SEEN[$a ${DEF[$a]}]:-} ]] || die 2 "${DW[$a]}: the default ${DEF[$a]} is not a role of $a; expected it in EMR_ROLES too"
done

# Render as Python's json.dumps(doc, indent=2, ensure_ascii=False).
O=("{$NL  \"version\": 1,$NL  \"accounts\": {") S=("{$NL  \"emr-execution-role-arns\": {") X=('{')
ca='' cs='' cx=''
for a in $(printf '%s\n' ${ACC[@]+"${!ACC[@]}"} | sort); do
  [[ $EMR_OFFER_CALLER_ROLE == false ]] || OFFER[$a]=1
  O+=("$ca$NL    \"$a\": {$NL      \"roles\": [") ca=, cr=''
  for i in ${RL[$a]:-}; do
    e="$cr$NL        {$NL          \"arn\": \"${ARNS[i]}\""
    [[ -z ${LABELS[i]} ]] || e+=",$NL          \"label\": \"${LABELS[i]}\""
    [[ ${DEF[$a]:-} != "${ARNS[i]}" ]] || e+=",$NL          \"default\": true"
    [[ -n $cr ]] || S+=("$cs$NL    \"$a\": [") cs=,
    O+=("$e$NL        }") S+=("$cr$NL      \"${ARNS[i]}\"") cr=,
  done
  O+=("${cr:+$NL      }]")
  [[ -z $cr ]] || S+=("$NL    ]")
  if [[ -n ${ACR[$a]:-} ]]; then
    O+=(",$NL      \"access_role\": \"${ACR[$a]}\"") X+=("$cx$NL  \"$a\": \"${ACR[$a]}\"") cx=,
  fi
  [[ -z ${OFFER[$a]:-} ]] || O+=(",$NL      \"offer_caller_role\": true")
  O+=("$NL    }")
done
printf -v own %s "${O[@]}" "${ca:+$NL  }}$NL}$NL"
printf -v studio %s "${S[@]}" "${cs:+$NL  }}$NL}$NL"
printf -v cross %s "${X[@]}" "$NL}$NL"

# Write: temporary file in the folder, renamed over the target.
[[ -d $H ]] || die 1 "the folder $H (EMR_ROLES_HOME) does not exist"
OWNER='' changed=0 J=$H/.jupyter L=$H/.jupyter/emr-roles.json.lock
if ((EUID == 0)); then OWNER=$(stat -c %u:%g -- "$H"); fi
[[ $OWNER != 0:* ]] || OWNER=''
run() { local e; e=$("$@" 2>&1) || die 1 "${e##*"$NL"}"; }
give() { [[ -z $OWNER ]] || run chown -h "$OWNER" "$1"; }
nolink() { [[ -z $OWNER || ! -L $1 ]] || die 1 "$1 is a symbolic link; expected none (root for $OWNER)"; }
folder() { # PATH MODE
  nolink "$1"
  if [[ ! -d $1 ]]; then run mkdir -m "$2" -- "$1"; give "$1"; fi
}
put() { # FOLDER MODE NAME CONTENT
  local f=$1/$3 t
  folder "$1" "$2"
  nolink "$f"
  run find "$1" -maxdepth 1 -name ".$3.*" -type f -mmin +10 -delete
  if [[ -f $f ]] && printf %s "$4" | cmp -s - "$f"; then return; fi
  t=$(mktemp "$1/.$3.XXXXXX" 2>&1) || die 1 "$t"
  TMP+=("$t")
  { printf %s "$4" >"$t"; } 2>/dev/null || die 1 "cannot write $t"
  if [[ -e $f ]]; then run chmod --reference="$f" -- "$t"; else run chmod 644 -- "$t"; fi
  give "$t"
  sync -- "$t" 2>/dev/null || true
  run mv -f -- "$t" "$f"
  changed=$((changed + 1))
}
D=DO_NOT_DELETE
put "$H/.sagemaker-analytics-configuration-$D" 700 "emr-configurations-$D.json" "$studio"
[[ -z $cx ]] || put "$H/.cross-account-configuration-$D" 700 "emr-discovery-iam-role-arns-$D.json" "$cross"
if command -v flock >/dev/null; then
  folder "$J" 755
  nolink "$L"
  { exec 9>>"$L"; } 2>/dev/null || die 1 "cannot open $L"
  give "$L"
  flock -w 60 9 || die 1 "timed out waiting for $L"
fi
put "$J" 755 emr-roles.json "$own"
w="$n roles for ${#ACC[@]} accounts"
if ((changed)); then w="wrote $w to"; else w="$w already in"; fi
echo "emr-roles-lcc: $w $J/emr-roles.json and the Studio files"
