#!/usr/bin/env bash
# Set up the course's JupyterHub on this machine (fresh Debian 12, as root): `make hub` runs this.
# Idempotent: run it again after pulling the repository and it updates what changed, keeping the course directory,
# the gradebook, the exchange and every account. book/jupyterhub.md describes what it makes and how to use it.
#
# Every path and port can be moved with an environment variable (the defaults are the one-machine layout);
# tests/deploy/test_jupyterhub.py uses them to set up a temporary machine:
#   GMMLAB_HUB_PREFIX         /opt/gmmlab-hub                     course environment, JupyterHub, proxy
#   GMMLAB_HUB_ETC            /etc/gmmlab-hub                     Hub configuration, env file, admin token
#   GMMLAB_HUB_STATE          /var/lib/gmmlab-hub                 the Hub's database and cookie secret
#   GMMLAB_HUB_JUPYTER_CONFIG /etc/jupyter                        system-wide nbgrader configuration
#   GMMLAB_HUB_EXCHANGE       /usr/local/share/nbgrader/exchange  nbgrader's exchange
#   GMMLAB_HUB_COURSE_ROOT    /srv/gmmlab/course                  the course directory (the grader account's)
#   GMMLAB_HUB_GRADER         grader-gmmlab                       the account the formgrader runs as
#   GMMLAB_HUB_HOMES          /home                               where the Hub creates users' homes
#   GMMLAB_HUB_URL            http://127.0.0.1:8000               where the Hub listens (put TLS in front)
#   GMMLAB_HUB_{API,PROXY_API,FORMGRADER,AUTOGRADE}_PORT  8081, 8001, 9999, 9998 (on 127.0.0.1)
#   GMMLAB_HUB_ADMINS         (none)                              Hub admins, comma-separated logins
#   GMMLAB_HUB_SYSTEMD        1                                   0: do not install or start the systemd service
# A second run keeps what the first wrote into GMMLAB_HUB_ETC/env, unless its own environment says otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "error: run deploy/jupyterhub/setup.sh as root (it creates accounts and /etc files)"; exit 1; }

ETC=${GMMLAB_HUB_ETC:-/etc/gmmlab-hub}
# A second run keeps the settings of the first (ETC/env), unless this run's environment gives others.
if [ -f "$ETC/env" ]; then
  while IFS='=' read -r key value; do
    case "$key" in GMMLAB_HUB_*) [ -n "${!key+x}" ] || export "$key=$value" ;; esac
  done < "$ETC/env"
fi
PREFIX=${GMMLAB_HUB_PREFIX:-/opt/gmmlab-hub}
STATE=${GMMLAB_HUB_STATE:-/var/lib/gmmlab-hub}
JUPYTER_CONFIG=${GMMLAB_HUB_JUPYTER_CONFIG:-/etc/jupyter}
EXCHANGE=${GMMLAB_HUB_EXCHANGE:-/usr/local/share/nbgrader/exchange}
COURSE_ROOT=${GMMLAB_HUB_COURSE_ROOT:-/srv/gmmlab/course}
GRADER=${GMMLAB_HUB_GRADER:-grader-gmmlab}
HOMES=${GMMLAB_HUB_HOMES:-/home}

# 1. software: the course environment with JupyterHub and gmmlab, the proxy, bubblewrap
bash "$HERE/install-env.sh" "$PREFIX"

# 2. the Hub's configuration (root's: only root may change what the Hub runs as root); your own additions (TLS,
#    single sign-on) go in ETC/jupyterhub_config.local.py, which this script never touches
install -d -m 755 "$ETC" "$ETC/grader" "$ETC/grader/labconfig" "$JUPYTER_CONFIG" "$HOMES"
install -d -m 700 "$STATE"
install -m 644 "$HERE/jupyterhub_config.py" "$HERE/autograde_service.py" "$ETC/"
install -m 644 "$HERE/grader/jupyter_server_config.json" "$ETC/grader/"
install -m 644 "$HERE/grader/labconfig/page_config.json" "$ETC/grader/labconfig/"
if [ ! -s "$ETC/admin-token" ]; then
  (umask 077 && "$PREFIX/venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))' > "$ETC/admin-token")
fi
chmod 600 "$ETC/admin-token"
cat > "$ETC/env" <<EOF
GMMLAB_HUB_PREFIX=$PREFIX
GMMLAB_HUB_COURSE_ROOT=$COURSE_ROOT
GMMLAB_HUB_GRADER=$GRADER
GMMLAB_HUB_HOMES=$HOMES
GMMLAB_HUB_JUPYTER_CONFIG=$JUPYTER_CONFIG
GMMLAB_HUB_ADMIN_TOKEN_FILE=$ETC/admin-token
GMMLAB_HUB_URL=${GMMLAB_HUB_URL:-http://127.0.0.1:8000}
GMMLAB_HUB_API_PORT=${GMMLAB_HUB_API_PORT:-8081}
GMMLAB_HUB_PROXY_API_PORT=${GMMLAB_HUB_PROXY_API_PORT:-8001}
GMMLAB_HUB_FORMGRADER_PORT=${GMMLAB_HUB_FORMGRADER_PORT:-9999}
GMMLAB_HUB_AUTOGRADE_PORT=${GMMLAB_HUB_AUTOGRADE_PORT:-9998}
GMMLAB_HUB_ADMINS=${GMMLAB_HUB_ADMINS:-}
EOF
chmod 644 "$ETC/env"

# 3. the exchange, and the system-wide nbgrader configuration every user's nbgrader reads
install -d -m 755 "$(dirname "$EXCHANGE")"
mkdir -p "$EXCHANGE"
chmod 1777 "$EXCHANGE"  # anyone may create; the sticky bit stops anyone renaming or deleting others' files
sed "s|^c.Exchange.root = .*|c.Exchange.root = \"$EXCHANGE\"|" "$HERE/nbgrader_config.py" > "$JUPYTER_CONFIG/nbgrader_config.py"
chmod 644 "$JUPYTER_CONFIG/nbgrader_config.py"

# 4. the grader account and the course directory it owns (only it, and root, can open it)
if ! id -u "$GRADER" >/dev/null 2>&1; then
  useradd --create-home --base-dir "$HOMES" --key HOME_MODE=0700 --shell /bin/bash --user-group "$GRADER"
fi
if [ ! -e "$COURSE_ROOT/nbgrader_config.py" ]; then
  install -d -m 755 "$(dirname "$COURSE_ROOT")"
  install -d -m 700 -o "$GRADER" -g "$GRADER" "$COURSE_ROOT"
  cp -r "$REPO/nbgrader_config.py" "$REPO/solutions" "$COURSE_ROOT/"
  chown -R "$GRADER:$GRADER" "$COURSE_ROOT"
fi
chmod 700 "$COURSE_ROOT"

# 5. the service: the Hub runs as root (it starts each user's server as that user)
if [ "${GMMLAB_HUB_SYSTEMD:-1}" = 1 ]; then
  cat > /etc/systemd/system/gmmlab-hub.service <<EOF
[Unit]
Description=JupyterHub of the gmmlab course
After=network.target

[Service]
User=root
WorkingDirectory=$STATE
EnvironmentFile=$ETC/env
Environment=PATH=$PREFIX/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ExecStart=$PREFIX/venv/bin/jupyterhub -f $ETC/jupyterhub_config.py
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable gmmlab-hub.service
    systemctl restart gmmlab-hub.service
    echo "The Hub is running: systemctl status gmmlab-hub"
  else
    echo "systemd is not running here; start the Hub with:"
    echo "  cd $STATE && set -a && . $ETC/env && set +a && $PREFIX/venv/bin/jupyterhub -f $ETC/jupyterhub_config.py"
  fi
fi
echo "Set up. Admin API token: $ETC/admin-token (book/jupyterhub.md shows how to add a class with it)."
