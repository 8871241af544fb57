"""Drives scripts/memcached.init for real against the built daemon in a temporary prefix.

    test_init_script.py SOURCE_DIR BINARY

Debian style (memcached.conf + default file), once with a stand-in LSB function library that
records its calls and once with no library (the script's own messages); Red Hat style
(sysconfig + lock file) with a stand-in of Red Hat's functions. Checks start (daemon up, pid file
right, port answers), status (0 running, 3 stopped, 1 stale pid file), restart and reload (new
pid), condrestart (restarts only a running daemon), stop (process gone, pid file removed).
"""
import os
import sys
import tempfile
import unittest

import pkg_util as u

SOURCE, BINARY = sys.argv.pop(1), os.path.abspath(sys.argv.pop(1))
INIT = os.path.join(SOURCE, "scripts", "memcached.init")
START = os.path.join(SOURCE, "scripts", "start-memcached")

LSB_STANDIN = """# stand-in for /lib/lsb/init-functions: records each call
log_daemon_msg() { echo "log_daemon_msg $*" >>"$STANDIN_LOG"; echo -n "$*"; }
log_end_msg() { echo "log_end_msg $*" >>"$STANDIN_LOG"; echo " [$1]"; return "$1"; }
log_warning_msg() { echo "log_warning_msg $*" >>"$STANDIN_LOG"; echo "$*"; }
"""

REDHAT_STANDIN = """# stand-in for /etc/rc.d/init.d/functions: records each call
success() { echo "success" >>"$STANDIN_LOG"; echo -n "[  OK  ]"; return 0; }
failure() { echo "failure" >>"$STANDIN_LOG"; echo -n "[FAILED]"; return 1; }
"""


class InitScriptBase(unittest.TestCase):
    library = "none"  # or "lsb" / "redhat"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mcd-init-")
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name
        self.port = u.free_port()
        self.pidfile = os.path.join(self.dir, "run", "memcached", "memcached.pid")
        self.standin_log = os.path.join(self.dir, "standin.log")
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "MEMCACHED": BINARY,
            "MEMCACHED_START": START,
            "MEMCACHED_SYSCONFIG": os.path.join(self.dir, "sysconfig-memcached"),
            "MEMCACHED_DEFAULTS": os.path.join(self.dir, "default-memcached"),
            "MEMCACHED_CONF": os.path.join(self.dir, "memcached.conf"),
            "MEMCACHED_PIDFILE": self.pidfile,
            "MEMCACHED_LOCKFILE": "",
            "MEMCACHED_STOP_TIMEOUT": "5",
            "STANDIN_LOG": self.standin_log,
        }
        lib = {"lsb": LSB_STANDIN, "redhat": REDHAT_STANDIN}.get(self.library)
        if lib is None:
            self.env["MEMCACHED_INIT_FUNCTIONS"] = "none"
        else:
            path = os.path.join(self.dir, "functions")
            with open(path, "w") as f:
                f.write(lib)
            self.env["MEMCACHED_INIT_FUNCTIONS"] = path
        self.started = []
        self.addCleanup(self.cleanup)
        self.configure()

    def configure(self):
        with open(self.env["MEMCACHED_CONF"], "w") as f:
            f.write("# test configuration\n-d\nlogfile %s\n-p %d\n-l 127.0.0.1\n-U 0\n-m 16\n"
                    "-t 2\n%s\n" % (os.path.join(self.dir, "memcached.log"), self.port,
                                    " ".join(u.user_args())))
        with open(self.env["MEMCACHED_DEFAULTS"], "w") as f:
            f.write("ENABLE_MEMCACHED=yes\n")

    def cleanup(self):
        for pid in self.started + [u.read_pid(self.pidfile)]:
            u.kill_hard(pid)
        u.stop_by_port(self.port, BINARY)  # a daemon whose pid file never appeared

    def init(self, action, expect=0):
        r = u.run(["/bin/bash", INIT, action], env=self.env)
        self.assertEqual(r.returncode, expect,
                         "%s: exit %d\nstdout: %s\nstderr: %s" % (action, r.returncode, r.stdout,
                                                                  r.stderr))
        return r

    def assert_running(self):
        pid = u.read_pid(self.pidfile)
        self.assertIsNotNone(pid, "no pid in %s" % self.pidfile)
        self.started.append(pid)
        self.assertTrue(u.alive(pid), "pid %d from the pid file is not running" % pid)
        self.assertEqual(u.comm(pid), "memcached")
        self.assertTrue(u.wait_until(lambda: u.answers(self.port)),
                        "port %d does not answer" % self.port)
        # The pid file names the process that serves the port.
        stats = u.chat(self.port, b"stats\r\nquit\r\n").decode()
        self.assertIn("STAT pid %d\r\n" % pid, stats)
        return pid

    def assert_stopped(self, old_pid):
        self.assertTrue(u.wait_until(lambda: not u.alive(old_pid)), "pid %d survived" % old_pid)
        self.assertFalse(os.path.exists(self.pidfile), "pid file left behind")
        self.assertFalse(u.answers(self.port))

    def lifecycle(self):
        r = self.init("status", expect=3)
        self.assertIn("not running", r.stdout)
        self.init("condrestart")  # not running: nothing to do
        self.assertFalse(os.path.exists(self.pidfile))

        self.init("start")
        pid1 = self.assert_running()
        self.init("start")  # already running: same daemon
        self.assertEqual(u.read_pid(self.pidfile), pid1)
        r = self.init("status", expect=0)
        self.assertIn("(pid %d) is running" % pid1, r.stdout)

        self.init("restart")
        pid2 = self.assert_running()
        self.assertNotEqual(pid2, pid1)
        self.assertFalse(u.alive(pid1))

        self.init("reload")  # memcached cannot reload: a restart
        pid3 = self.assert_running()
        self.assertNotEqual(pid3, pid2)

        self.init("condrestart")
        pid4 = self.assert_running()
        self.assertNotEqual(pid4, pid3)

        self.init("stop")
        self.assert_stopped(pid4)
        self.init("status", expect=3)
        self.init("stop")  # stopping a stopped service succeeds
        return pid4


class WithoutLibrary(InitScriptBase):
    library = "none"

    def test_lifecycle(self):
        self.lifecycle()

    def test_stale_pid_file_status_1(self):
        self.init("start")
        pid = self.assert_running()
        u.kill_hard(pid)
        # The daemon may remove its own pid file on SIGTERM; put a stale one back.
        os.makedirs(os.path.dirname(self.pidfile), exist_ok=True)
        with open(self.pidfile, "w") as f:
            f.write("%d\n" % pid)
        r = self.init("status", expect=1)
        self.assertIn("pid file", r.stdout)
        self.init("start")  # a stale pid file does not block a start
        self.assertNotEqual(self.assert_running(), pid)
        self.init("stop")

    def test_disabled_in_defaults(self):
        with open(self.env["MEMCACHED_DEFAULTS"], "w") as f:
            f.write("ENABLE_MEMCACHED=no\n")
        r = self.init("start")
        self.assertIn("disabled", r.stdout)
        self.assertFalse(os.path.exists(self.pidfile))
        self.assertFalse(u.answers(self.port))

    def test_start_failure_reported(self):
        with open(self.env["MEMCACHED_CONF"], "a") as f:
            f.write("--no-such-option\n")
        self.init("start", expect=1)
        self.assertFalse(os.path.exists(self.pidfile))

    def test_usage(self):
        r = self.init("frobnicate", expect=2)
        self.assertIn("Usage:", r.stderr)


class WithLsbStandIn(InitScriptBase):
    library = "lsb"

    def test_lifecycle(self):
        self.lifecycle()
        with open(self.standin_log) as f:
            calls = f.read().splitlines()
        self.assertIn("log_daemon_msg Starting memcached memcached", calls)
        self.assertIn("log_daemon_msg Stopping memcached memcached", calls)
        self.assertIn("log_end_msg 0", calls)
        self.assertNotIn("log_end_msg 1", calls)


class RedHatSysconfig(InitScriptBase):
    library = "redhat"

    def configure(self):
        self.lockfile = os.path.join(self.dir, "subsys-memcached")
        self.env["MEMCACHED_LOCKFILE"] = self.lockfile
        user = u.user_args()[1] if u.user_args() else os.environ.get("USER", "nobody")
        with open(self.env["MEMCACHED_SYSCONFIG"], "w") as f:
            f.write('PORT="%d"\nUSER="%s"\nMAXCONN="77"\nCACHESIZE="12"\n'
                    'OPTIONS="-l 127.0.0.1 -U 0 -t 2"\n' % (self.port, user))

    def test_lifecycle_with_sysconfig(self):
        self.init("start")
        pid = self.assert_running()
        self.assertTrue(os.path.exists(self.lockfile))
        settings = u.chat(self.port, b"stats settings\r\nquit\r\n").decode()
        self.assertIn("STAT maxconns 77\r\n", settings)
        self.assertIn("STAT maxbytes %d\r\n" % (12 * 1024 * 1024), settings)
        self.init("status", expect=0)
        self.init("restart")
        pid2 = self.assert_running()
        self.assertNotEqual(pid, pid2)
        self.init("stop")
        self.assert_stopped(pid2)
        self.assertFalse(os.path.exists(self.lockfile))
        with open(self.standin_log) as f:
            calls = f.read().splitlines()
        self.assertIn("success", calls)
        self.assertNotIn("failure", calls)


if __name__ == "__main__":
    unittest.main(verbosity=2)
