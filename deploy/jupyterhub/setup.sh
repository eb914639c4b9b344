#!/usr/bin/env bash
# Set up the course's JupyterHub on this machine (fresh Debian 12, as root): `make hub` runs this.
# Idempotent: run it again after pulling the repository and it updates what changed, keeping the course directory,
# the gradebook, the exchange and every account. book/jupyterhub.md describes what it makes and how to use it.
#
# Every path, port and limit can be set with an environment variable (the defaults are the one-machine layout);
# tests/deploy/test_jupyterhub.py uses them to set up a temporary machine:
#   GMMLAB_HUB_PREFIX         /opt/gmmlab-hub                     course environment, JupyterHub, proxy
#   GMMLAB_HUB_ETC            /etc/gmmlab-hub                     Hub configuration, env file, admin token
#   GMMLAB_HUB_STATE          /var/lib/gmmlab-hub                 the Hub's database, cookie secret, log, backups
#   GMMLAB_HUB_JUPYTER_CONFIG /etc/jupyter                        system-wide nbgrader configuration
#   GMMLAB_HUB_EXCHANGE       /usr/local/share/nbgrader/exchange  nbgrader's exchange
#   GMMLAB_HUB_EXCHANGE_SIZE  10G       the exchange's own file system (an ext4 image in GMMLAB_HUB_STATE, its space
#                                       reserved now), so that a full exchange cannot fill the disk of the homes and
#                                       a full home cannot stop submissions; 0: keep the exchange where it is
#   GMMLAB_HUB_COURSE_ROOT    /srv/gmmlab/course                  the course directory (the grader account's)
#   GMMLAB_HUB_GRADER         grader-gmmlab                       the account the formgrader runs as
#   GMMLAB_HUB_HOMES          /home                               where the Hub creates users' homes
#   GMMLAB_HUB_URL            http://127.0.0.1:8000               where the Hub listens (put TLS in front)
#   GMMLAB_HUB_{API,PROXY_API,FORMGRADER,AUTOGRADE}_PORT  8081, 8001, 9999, 9998 (on 127.0.0.1)
#   GMMLAB_HUB_ADMINS         (none)                              Hub admins (the Admin page), comma-separated logins
#   GMMLAB_HUB_SYSTEMD        1                                   0: do not install or start the systemd service
#   GMMLAB_HUB_PROFILE        /etc/profile.d/gmmlab.sh            puts the course environment on login shells' PATH
#   GMMLAB_HUB_MEM_LIMIT      2G        memory per user (systemd: the server's cgroup; elsewhere: per process)
#   GMMLAB_HUB_CPU_LIMIT      1         cores per user (systemd: CPU quota; elsewhere: threads per kernel)
#   GMMLAB_HUB_NPROC          512       processes and threads per user
#   GMMLAB_HUB_FSIZE          100M      the largest file a user's server may write
#   GMMLAB_HUB_CULL_TIMEOUT   3600      seconds without activity before the idle culler stops a server
# The first run records every setting in GMMLAB_HUB_ETC/env; a later run reuses them, unless its own environment
# gives another value (GMMLAB_HUB_ETC itself is the one to give again if you moved it).
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
PROFILE=${GMMLAB_HUB_PROFILE:-/etc/profile.d/gmmlab.sh}
SYSTEMD=${GMMLAB_HUB_SYSTEMD:-1}
EXCHANGE_SIZE=${GMMLAB_HUB_EXCHANGE_SIZE:-10G}
EXCHANGE_IMAGE=$STATE/exchange.img

# keep FILE as it is when NEW says the same (so a second run changes nothing), else replace it
replace() { if cmp -s "$2" "$1"; then rm "$2"; else mv "$2" "$1"; fi; }

# 1. software: the course environment with JupyterHub and gmmlab, the proxy, bubblewrap
bash "$HERE/install-env.sh" "$PREFIX"

# 2. the Hub's configuration (root's: only root may change what the Hub runs as root, and the modules the formgrader
#    and the autograder import, in ETC/lib); your own additions (TLS, single sign-on) go in
#    ETC/jupyterhub_config.local.py, which this script never touches
install -d -m 755 "$ETC" "$ETC/lib" "$ETC/grader" "$ETC/grader/labconfig" "$JUPYTER_CONFIG" "$HOMES"
chmod 711 "$HOMES"  # each owner enters their own home; nobody lists the accounts there
install -d -m 700 "$STATE" "$STATE/backups"
install -m 644 "$HERE/jupyterhub_config.py" "$HERE/autograde_service.py" "$ETC/"
install -m 644 "$HERE/gmmlab_hub.py" "$ETC/lib/"
install -m 644 "$HERE/grader/jupyter_server_config.json" "$ETC/grader/"
install -m 644 "$HERE/grader/labconfig/page_config.json" "$ETC/grader/labconfig/"
for token in admin-token metrics-token; do
  if [ ! -s "$ETC/$token" ]; then
    (umask 077 && "$PREFIX/venv/bin/python" -c 'import secrets; print(secrets.token_hex(32))' > "$ETC/$token")
  fi
  chmod 600 "$ETC/$token"
done
# The token as a header file for `curl -H @file`: a token on a command line is in /proc/<pid>/cmdline for all to see
(umask 077 && echo "Authorization: token $(cat "$ETC/admin-token")" > "$ETC/admin-header.new")
replace "$ETC/admin-header" "$ETC/admin-header.new"
chmod 600 "$ETC/admin-header"
cat > "$ETC/env.new" <<EOF
GMMLAB_HUB_PREFIX=$PREFIX
GMMLAB_HUB_ETC=$ETC
GMMLAB_HUB_STATE=$STATE
GMMLAB_HUB_EXCHANGE=$EXCHANGE
GMMLAB_HUB_EXCHANGE_SIZE=$EXCHANGE_SIZE
GMMLAB_HUB_COURSE_ROOT=$COURSE_ROOT
GMMLAB_HUB_GRADER=$GRADER
GMMLAB_HUB_HOMES=$HOMES
GMMLAB_HUB_JUPYTER_CONFIG=$JUPYTER_CONFIG
GMMLAB_HUB_PROFILE=$PROFILE
GMMLAB_HUB_SYSTEMD=$SYSTEMD
GMMLAB_HUB_ADMIN_TOKEN_FILE=$ETC/admin-token
GMMLAB_HUB_URL=${GMMLAB_HUB_URL:-http://127.0.0.1:8000}
GMMLAB_HUB_API_PORT=${GMMLAB_HUB_API_PORT:-8081}
GMMLAB_HUB_PROXY_API_PORT=${GMMLAB_HUB_PROXY_API_PORT:-8001}
GMMLAB_HUB_FORMGRADER_PORT=${GMMLAB_HUB_FORMGRADER_PORT:-9999}
GMMLAB_HUB_AUTOGRADE_PORT=${GMMLAB_HUB_AUTOGRADE_PORT:-9998}
GMMLAB_HUB_ADMINS=${GMMLAB_HUB_ADMINS:-}
GMMLAB_HUB_MEM_LIMIT=${GMMLAB_HUB_MEM_LIMIT:-2G}
GMMLAB_HUB_CPU_LIMIT=${GMMLAB_HUB_CPU_LIMIT:-1}
GMMLAB_HUB_NPROC=${GMMLAB_HUB_NPROC:-512}
GMMLAB_HUB_FSIZE=${GMMLAB_HUB_FSIZE:-100M}
GMMLAB_HUB_CULL_TIMEOUT=${GMMLAB_HUB_CULL_TIMEOUT:-3600}
EOF
replace "$ETC/env" "$ETC/env.new"
chmod 644 "$ETC/env"

# Every login shell of the Hub's people finds the course's nbgrader and python: a terminal of their server is
# `bash -l`, and Debian's /etc/profile resets PATH
cat > "$PROFILE.new" <<EOF
# The gmmlab Hub's course environment for the accounts it made (deploy/jupyterhub/setup.sh writes this file)
case "\$HOME" in $HOMES/*) PATH="$PREFIX/venv/bin:\$PATH"; export PATH ;; esac
EOF
replace "$PROFILE" "$PROFILE.new"
chmod 644 "$PROFILE"

# 3. the exchange, and the system-wide nbgrader configuration every user's nbgrader reads
install -d -m 755 "$(dirname "$EXCHANGE")"
mkdir -p "$EXCHANGE"
# The exchange gets a file system of its own, unless told otherwise: mounted here, and again by the start script
# after a reboot. Whatever an earlier set-up left in the exchange is copied onto it first (and stays, hidden,
# underneath).
MOUNT_EXCHANGE="mount -o loop,nosuid,nodev,noexec $EXCHANGE_IMAGE $EXCHANGE"
if [ "$EXCHANGE_SIZE" != 0 ] && ! mountpoint -q "$EXCHANGE"; then
  if [ ! -e "$EXCHANGE_IMAGE" ]; then
    fallocate -l "$EXCHANGE_SIZE" "$EXCHANGE_IMAGE.new" || {
      rm -f "$EXCHANGE_IMAGE.new"
      echo "error: no room for the exchange's file system of $EXCHANGE_SIZE in $STATE; set GMMLAB_HUB_EXCHANGE_SIZE"
      echo "       to a size that fits, or to 0 to keep the exchange on the disk the homes use"; exit 1; }
    mkfs.ext4 -q -F -m 1 "$EXCHANGE_IMAGE.new"
    mv "$EXCHANGE_IMAGE.new" "$EXCHANGE_IMAGE"
  fi
  if [ -n "$(ls -A "$EXCHANGE")" ]; then
    staging=$(mktemp -d)
    mount -o loop "$EXCHANGE_IMAGE" "$staging"
    cp -a "$EXCHANGE/." "$staging/"
    umount "$staging" && rmdir "$staging"
  fi
  $MOUNT_EXCHANGE || { echo "error: cannot mount $EXCHANGE_IMAGE on $EXCHANGE (no loop devices here?); set"
                       echo "       GMMLAB_HUB_EXCHANGE_SIZE=0 to keep the exchange on the homes' disk"; exit 1; }
fi
[ "$EXCHANGE_SIZE" = 0 ] && MOUNT_EXCHANGE=:
chmod 1777 "$EXCHANGE"  # nbgrader's release insists on 777; the sticky bit stops anyone removing others' files
sed "s|^c.Exchange.root = .*|c.Exchange.root = \"$EXCHANGE\"|" "$HERE/nbgrader_config.py" > "$JUPYTER_CONFIG/nbgrader_config.py.new"
replace "$JUPYTER_CONFIG/nbgrader_config.py" "$JUPYTER_CONFIG/nbgrader_config.py.new"
chmod 644 "$JUPYTER_CONFIG/nbgrader_config.py"

# 4. the grader account and the course directory it owns (only it, and root, can open it)
if ! id -u "$GRADER" >/dev/null 2>&1; then
  useradd --create-home --base-dir "$HOMES" --key HOME_MODE=0700 --shell /bin/bash --user-group "$GRADER"
fi
if [ ! -e "$COURSE_ROOT/solutions" ]; then
  install -d -m 755 "$(dirname "$COURSE_ROOT")"
  install -d -m 700 -o "$GRADER" -g "$GRADER" "$COURSE_ROOT"
  cp -r "$REPO/solutions" "$COURSE_ROOT/"
  chown -R "$GRADER:$GRADER" "$COURSE_ROOT"
fi
chmod 700 "$COURSE_ROOT"
# The course's nbgrader configuration is Python that the root autograder executes, so it is root's: the grader
# account reads it but cannot change it (an instructor changes it in the clone, as root, and runs `make hub`).
# The autograder refuses to run while it belongs to anyone else.
install -m 644 -o root -g root "$REPO/nbgrader_config.py" "$COURSE_ROOT/nbgrader_config.py.new"
mv -f "$COURSE_ROOT/nbgrader_config.py.new" "$COURSE_ROOT/nbgrader_config.py"  # always: whatever was there is not trusted
# The clone this runs in holds the solutions with their hidden tests: out of the students' reach
chmod go-rwx "$REPO/solutions"

# The exchange's course folders, made before any student logs in (one could otherwise make them first and block
# every release), owned by the grader, with the modes nbgrader's release gives them
install -d -m 755 -o "$GRADER" -g "$GRADER" "$EXCHANGE/gmmlab" "$EXCHANGE/gmmlab/outbound"
install -d -m 2733 -o "$GRADER" -g "$GRADER" "$EXCHANGE/gmmlab/inbound"
install -d -m 711 -o "$GRADER" -g "$GRADER" "$EXCHANGE/gmmlab/feedback"

# 5. logs: the Hub writes STATE/jupyterhub.log, which logrotate turns daily, a fortnight kept
if [ -d /etc/logrotate.d ]; then
  cat > "/etc/logrotate.d/gmmlab-hub$(echo "${ETC#/etc/gmmlab-hub}" | tr -c 'A-Za-z0-9\n' -)" <<EOF
$STATE/jupyterhub.log {
  daily
  rotate 14
  compress
  missingok
  notifempty
  copytruncate
}
EOF
fi

# 6. /proc with hidepid=2: users see only their own processes, not others' command lines. The Hub and everything it
#    starts get a /proc of their own mounted so (systemd: ProtectProc=invisible; without systemd, the start script
#    mounts one in the Hub's own mount namespace), where the host allows it: a container may not.
if unshare --mount --propagation private sh -c 'mount -t proc -o hidepid=2 proc /proc' 2>/dev/null; then
  HIDEPID=1
else
  HIDEPID=0
  echo "warning: this host does not let the Hub mount /proc with hidepid=2 (a container?): users can list each"
  echo "         other's processes; their command lines carry no secrets, but run the Hub on a host that allows it"
fi

# 7. the service: the Hub runs as root (it starts each user's server as that user), from the start script
cat > "$ETC/start.new" <<EOF
#!/bin/sh
# Start the gmmlab Hub, as root (setup.sh writes this; systemd runs it, or your init system where systemd does not)
set -a; . "$ETC/env"; set +a
mountpoint -q "$EXCHANGE" || $MOUNT_EXCHANGE
if [ "$HIDEPID" = 1 ] && [ -z "\$GMMLAB_HUB_OWN_PROC" ]; then
  GMMLAB_HUB_OWN_PROC=1 exec unshare --mount --propagation private sh -c 'mount -t proc -o hidepid=2 proc /proc && exec "\$0"' "\$0"
fi
cd "$STATE"
PATH="$PREFIX/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" exec "$PREFIX/venv/bin/jupyterhub" -f "$ETC/jupyterhub_config.py" >> "$STATE/jupyterhub.log" 2>&1
EOF
replace "$ETC/start" "$ETC/start.new"
chmod 700 "$ETC/start"

if [ "$SYSTEMD" = 1 ] && [ -d /run/systemd/system ]; then
  # systemd mounts the exchange at boot from fstab, for everyone (the start script's own mount would happen inside
  # the service's private mount namespace), before it starts the Hub
  if [ "$EXCHANGE_SIZE" != 0 ] && ! grep -qs "^$EXCHANGE_IMAGE " /etc/fstab; then
    echo "$EXCHANGE_IMAGE $EXCHANGE ext4 loop,nosuid,nodev,noexec 0 2" >> /etc/fstab
  fi
  cat > /etc/systemd/system/gmmlab-hub.service.new <<EOF
[Unit]
Description=JupyterHub of the gmmlab course
After=network.target
RequiresMountsFor=$EXCHANGE

[Service]
User=root
Environment=GMMLAB_HUB_OWN_PROC=1
ProtectProc=invisible
ExecStart=$ETC/start
Restart=on-failure

[Install]
WantedBy=multi-user.target
EOF
  replace /etc/systemd/system/gmmlab-hub.service /etc/systemd/system/gmmlab-hub.service.new
  systemctl daemon-reload
  systemctl enable gmmlab-hub.service
  systemctl restart gmmlab-hub.service
  echo "The Hub is running: systemctl status gmmlab-hub"
else
  echo "systemd does not run the Hub here; start it, as root (from your init system, or in a tmux), with:"
  echo "  $ETC/start"
fi
echo "Set up. Admin API token: $ETC/admin-token; as a curl header, $ETC/admin-header (book/jupyterhub.md)."
