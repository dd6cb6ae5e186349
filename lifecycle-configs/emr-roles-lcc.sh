#!/usr/bin/env bash
# emr-roles-lcc: write the EMR runtime roles a user may pick. Built from src/emr-roles-lcc.sh.in
# by build.py. Set these here or in the env; lifecycle-configs/README.md explains each.
EMR_ROLES="${EMR_ROLES:-}" # lines ACCOUNT_ID ROLE_ARN [LABEL]
EMR_DEFAULT_ROLES="${EMR_DEFAULT_ROLES:-}" # lines ACCOUNT_ID ROLE_ARN
EMR_ACCESS_ROLES="${EMR_ACCESS_ROLES:-}" # lines ACCOUNT_ID ACCESS_ROLE_ARN
EMR_CA_BUNDLES="${EMR_CA_BUNDLES:-}" # lines ACCOUNT_ID s3://BUCKET/KEY|ssm:NAME|/PATH
EMR_OFFER_CALLER_ROLE="${EMR_OFFER_CALLER_ROLE:-false}"
EMR_ROLES_MAPPING="${EMR_ROLES_MAPPING:-}" # s3://BUCKET/KEY|ssm:NAME|/PATH
EMR_USER="${EMR_USER:-}"
EMR_RESOURCE_METADATA="${EMR_RESOURCE_METADATA:-/opt/ml/metadata/resource-metadata.json}"
EMR_ROLES_HOME="${EMR_ROLES_HOME:-${HOME:-}}"
# ---- End of configuration ----
set -euo pipefail
export LC_ALL=C
umask 022
NL=$'\n'
die() { printf 'emr-roles-lcc: error: %s\n' "$2" >&2; exit "$1"; }
bad() {
local v; printf -v v %q "${3:0:100}"; ((${#3} <= 100)) || v+=...
die 2 "$1: $2 $v is not valid; expected $4"
}
C='[A-Za-z0-9+=,.@_-]'
ARN="^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/($C+/)*$C+\$"
B=$'[\x80-\xbf]'
UTF8=$'^([\x01-\x7f]|[\xc2-\xdf]'$B$'|\xe0[\xa0-\xbf]'$B$'|[\xe1-\xec\xee\xef]'$B$B$'|\xed[\x80-\x9f]'$B$'|\xf0[\x90-\xbf]'$B$B$'|[\xf1-\xf3]'$B$B$B$'|\xf4[\x80-\x8f]'$B$B')*$'
CF=$'[[:cntrl:]]|\xc2[\x80-\x9f\xad]|\xe2\x80[\x8b-\x8f\xaa-\xae]|\xe2\x81[\xa0-\xa4\xa6-\xaf]|\xef\xbb\xbf|\xf3\xa0[\x80\x81]'
declare -A ACC=() RL=() SEEN=() DEF=() DW=() ACR=() OFFER=() CAS=() CW=() PEM=()
ARNS=() LABELS=() TMP=() G=() n=0
trap 'rm -f -- "${TMP[@]+"${TMP[@]}"}"' EXIT
trap 'exit 130' INT; trap 'exit 143' TERM
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
add_role() {
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
add_default() {
add_account "$1" "$2"; role "$3" "$4"
[[ ${DEF[$1]:-$3} == "$3" ]] || die 2 "$4: $3 is a 2nd default for $1; expected one (${DEF[$1]})"
DEF[$1]=$3 DW[$1]=$4
}
add_access() {
add_account "$1" "$2"; role "$3" "$4"
local a=${3#arn:*:iam::}
[[ ${a%%:*} == "$1" ]] || die 2 "$4: access role $3 is not in $1; expected a role of $1"
[[ ${ACR[$1]:-$3} == "$3" ]] || die 2 "$4: $3 is a 2nd access role for $1; expected one (${ACR[$1]})"
ACR[$1]=$3
}
add_offer() { add_account "$1" "$2"; OFFER[$1]=1; }
add_ca() {
[[ $1 =~ ^[0-9]{12}$ ]] || bad "$2" 'account ID' "$1" '12 digits'
locate "$4" "$3"
[[ ${CAS[$1]:-$3} == "$3" ]] || die 2 "$4: $3 is a 2nd CA bundle for $1; expected one (${CAS[$1]})"
CAS[$1]=$3 CW[$1]=$4
}
locate() {
G=() F=
if [[ $2 =~ ^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/|ssm:[A-Za-z0-9_./])[^[:cntrl:]]*$ ]]; then
G=(s3 cp "$2" -)
[[ $2 != ssm:* ]] || G=(ssm get-parameter --name "${2#ssm:}" --with-decryption --query Parameter.Value --output text)
elif [[ $2 =~ ^(file://)?(/[^[:cntrl:]]*)$ ]]; then
F=${BASH_REMATCH[2]}
else
bad "$1" location "$2" 's3://BUCKET/KEY, ssm:NAME, /path or file:///path'
fi
}
fetch() {
local e
locate "$2" "$3"
((${#G[@]})) || return 0
F=$(mktemp 2>&1) || die 1 "$F"
TMP+=("$F")
if ! e=$(aws "${G[@]}" 2>&1 >"$F"); then
e=${e//[[:cntrl:]]/ } e=${e#"${e%%[! ]*}"}
die 1 "cannot fetch $1 $3 with the aws CLI: ${e:0:300}"
fi
}
lines() {
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
if [[ $H != /* || $H =~ $CF ]]; then bad EMR_ROLES_HOME folder "$H" 'an absolute path'; fi
[[ $EMR_OFFER_CALLER_ROLE =~ ^(true|false)$ ]] || bad EMR_OFFER_CALLER_ROLE value "$EMR_OFFER_CALLER_ROLE" 'true or false'
if [[ -z $M ]]; then
[[ -n $EMR_ROLES ]] || die 2 'EMR_ROLES and EMR_ROLES_MAPPING are empty; expected one'
lines EMR_ROLES add_role 'ACCOUNT_ID ROLE_ARN [LABEL]'
lines EMR_DEFAULT_ROLES add_default 'ACCOUNT_ID ROLE_ARN'
lines EMR_ACCESS_ROLES add_access 'ACCOUNT_ID ACCESS_ROLE_ARN'
else
[[ -z $EMR_ROLES$EMR_DEFAULT_ROLES$EMR_ACCESS_ROLES ]] || die 2 'EMR_ROLES_MAPPING and EMR_ROLES or EMR_*_ROLES are set; expected one'
fetch 'the mapping' EMR_ROLES_MAPPING "$M"
IFS= read -r -d '' PY <<'PYTHON' || true
T=range
O=list
N=len
M=str
H=type
G=dict
import json as J,os,re,sys as K
a,U,E,F,L,V=K.argv
E='mapping '+E
def B(A,B=2):K.stderr.write('emr-roles-lcc: error: '+A+'\n');K.exit(B)
def P(D,A):
	try:E=open(D,'rb').read()
	except OSError as C:B('cannot read %s: %s'%(A,C.strerror),1)
	def F(C):
		if N({A for(A,B)in C})<N(C):B(A+': a key is twice in one object')
		return G(C)
	try:return J.loads(E.decode('utf-8'),object_pairs_hook=F,parse_constant=lambda C:B(A+' holds '+C))
	except(ValueError,RecursionError)as C:B('%s is not valid JSON: %s'%(A,C))
W={A:'\\x%02x'%A for A in T(256)if not 31<A<127 or A==92}
def I(*A):
	for(C,D)in zip(A[1::2],A[2::2]):
		if'\x00'in C:B('%s: %s holds a NUL; expected text'%(D,J.dumps(C)[:100]))
	print('\x1f'.join(A.encode('utf-8','surrogatepass').decode('latin-1').translate(W)for A in A))
def A(A):return E+' key '+A if A else E
def C(B,A):
	if H(A)is int:return'%s[%d]'%(B,A)
	if not re.fullmatch('[\\w@+.-]+',A,re.A):A=J.dumps(A[:60])
	return B+'.'+A if B else A
X=G(dict='an object',list='a list',str='a string',bool='true/false',int='a number')
Y='version','users','roles','arn'
def Q(I,D,J=''):
	F=H(D)if H(D)in(G,O)else D
	if H(I)is not F:B('%s: expected %s'%(A(J),X[F.__name__]))
	L=T(N(I))if F is O else I if F is G else()
	for E in L:
		K=D[0]if F is O else D.get(E,D.get('*'))
		if K is None:B('%s: unknown key; expected one of %s'%(A(C(J,E)),', '.join(D)))
		Q(I[E],K,C(J,E))
	for E in D if F is G else():
		if E in Y and E not in I:B('%s: the key %s is missing'%(A(J),E))
R={'*':{'roles':[{'arn':M,'label':M,'default':bool}],'access_role':M,'offer_caller_role':bool}}
def Z(A):
	C='EMR_USER'
	if not A and os.path.isfile(L):
		D=P(L,L)
		for E in('UserProfileName','SpaceName'):
			if not A and H(D)is G and H(D.get(E))is M:A,C=D[E],E+' in '+L
	if not A:A,C=V,'JUPYTERHUB_USER'
	if not re.fullmatch('[A-Za-z0-9][\\w.@+-]{0,127}',A,re.A):B('%s: user %s is not valid; expected up to 128 of A-Za-z0-9._@+-'%(C,J.dumps(A)[:100]))
	return A
def S(H,J):
	for(D,E)in H.items():
		B=C(J,D);I('add_account',D,A(B))
		for(K,F)in enumerate(E['roles']):
			G=C(C(B,'roles'),K);I('add_role',D,A(B),F['arn'],A(C(G,'arn')),F.get('label',''),A(C(G,'label')))
			if F.get('default'):I('add_default',D,A(B),F['arn'],A(C(G,'default')))
		if'access_role'in E:I('add_access',D,A(B),E['access_role'],A(C(B,'access_role')))
		if E.get('offer_caller_role'):I('add_offer',D,A(B))
D=P(U,E)
Q(D,{'version':int,'users':{'*':R},'default':R})
if D['version']!=1:B('%s: expected 1, found %d'%(A('version'),D['version']))
F=Z(F)
if F in D['users']:S(D['users'][F],C('users',F))
else:
	if'default'not in D:K.stderr.write('emr-roles-lcc: notice: %s: no entry for %s and no default; writing no roles\n'%(E,F))
	S(D.get('default',{}),'default')
PYTHON
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
lines EMR_CA_BUNDLES add_ca 'ACCOUNT_ID s3://BUCKET/KEY|ssm:NAME|/path'
for a in ${CAS[@]+"${!CAS[@]}"}; do
[[ -n ${ACC[$a]:-} ]] || continue
fetch 'the CA bundle' "${CW[$a]}" "${CAS[$a]}"
{ p=$(cat -- "$F" 2>/dev/null); } 2>/dev/null || die 1 "cannot read the CA bundle $F"
[[ $p == *'-----BEGIN CERTIFICATE-----'* ]] || die 2 "${CW[$a]}: ${CAS[$a]} holds no PEM certificate; expected -----BEGIN CERTIFICATE-----"
PEM[$a]=$p$NL
done
J=$H/.jupyter CA=${H//\\/\\\\} CA=${CA//\"/\\\"}/.jupyter/emr-livy-ca-
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
[[ -z ${PEM[$a]:-} ]] || O+=(",$NL      \"ca_bundle\": \"$CA$a.pem\"")
O+=("$NL    }")
done
printf -v own %s "${O[@]}" "${ca:+$NL  }}$NL}$NL"
printf -v studio %s "${S[@]}" "${cs:+$NL  }}$NL}$NL"
printf -v cross %s "${X[@]}" "$NL}$NL"
[[ -d $H ]] || die 1 "the folder $H (EMR_ROLES_HOME) does not exist"
OWNER='' changed=0 L=$J/emr-roles.json.lock
if ((EUID == 0)); then OWNER=$(stat -c %u:%g -- "$H"); fi
[[ $OWNER != 0:* ]] || OWNER=''
run() { local e; e=$("$@" 2>&1) || die 1 "${e##*"$NL"}"; }
give() { [[ -z $OWNER ]] || run chown -h "$OWNER" "$1"; }
nolink() { [[ -z $OWNER || ! -L $1 ]] || die 1 "$1 is a symbolic link; expected none (root for $OWNER)"; }
folder() {
nolink "$1"
if [[ ! -d $1 ]]; then mkdir -m "$2" -- "$1" 2>/dev/null || [[ -d $1 ]] ||
run mkdir -m "$2" -- "$1"; give "$1"; fi
}
put() {
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
if command -v flock >/dev/null; then
folder "$J" 755
nolink "$L"
{ exec 9>>"$L"; } 2>/dev/null || die 1 "cannot open $L"
give "$L"
flock -w 60 9 || die 1 "timed out waiting for $L"
fi
D=DO_NOT_DELETE
put "$H/.sagemaker-analytics-configuration-$D" 700 "emr-configurations-$D.json" "$studio"
x=$H/.cross-account-configuration-$D/emr-discovery-iam-role-arns-$D.json
if [[ -n $cx ]]; then
put "${x%/*}" 700 "${x##*/}" "$cross"
elif [[ -f $x || -L $x ]] && grep -qs '"access_role":' "$J/emr-roles.json"; then
nolink "$x"
run rm -f -- "$x"
changed=$((changed + 1))
fi
for a in ${PEM[@]+"${!PEM[@]}"}; do put "$J" 755 "emr-livy-ca-$a.pem" "${PEM[$a]}"; done
put "$J" 755 emr-roles.json "$own"
w="$n roles for ${#ACC[@]} accounts"
if ((changed)); then w="wrote $w to"; else w="$w already in"; fi
echo "emr-roles-lcc: $w $J/emr-roles.json and the Studio files"
