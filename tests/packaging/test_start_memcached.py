"""scripts/start-memcached and conf/: the command line built from a memcached.conf, a real
detached start and stop on a free port, the failure path, --foreground, and conf/mcd.flags.

    test_start_memcached.py SOURCE_DIR BINARY
"""
import os
import subprocess
import sys
import tempfile
import unittest

import pkg_util as u

SOURCE, BINARY = sys.argv.pop(1), os.path.abspath(sys.argv.pop(1))
START = os.path.join(SOURCE, "scripts", "start-memcached")

SAMPLE = r"""# a sample memcached.conf
-d

logfile /var/log/memcached.log   # where output goes
   -m 64
-p 11211
-u memcache
-l 127.0.0.1,::1 # listen
-c 1024 -t 8
-o idle_timeout=5,hashpower=16
--max-item-size=2m
-D \#
-h
-vv
nonsense value
"""


class StartMemcachedTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mcd-start-")
        self.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "MEMCACHED": BINARY}
        self.pids = []
        self.addCleanup(lambda: [u.kill_hard(p) for p in self.pids])

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, *args, expect=0):
        r = u.run(["/bin/bash", START] + list(args), env=self.env)
        self.assertEqual(r.returncode, expect, "exit %d\nstdout: %s\nstderr: %s" %
                         (r.returncode, r.stdout, r.stderr))
        return r

    def test_print_builds_the_command_line(self):
        conf = self.write("memcached.conf", SAMPLE)
        r = self.start("--print", conf)
        self.assertEqual(
            r.stdout,
            BINARY + " -m 64 -p 11211 -u memcache -l 127.0.0.1,::1 -c 1024 -t 8 "
            "-o idle_timeout=5,hashpower=16 --max-item-size=2m -D '#' -vv\n")
        self.assertIn("unknown directive 'nonsense'", r.stderr)

    def test_print_appends_extra_options(self):
        conf = self.write("memcached.conf", "-p 1\n-u nobody\n")
        r = self.start("--print", conf, "/x.pid", "--", "-v", "-s", "/tmp/a b")
        self.assertEqual(r.stdout, BINARY + " -p 1 -u nobody -v -s '/tmp/a b'\n")

    def test_default_user_only_as_root(self):
        conf = self.write("memcached.conf", "-p 1\n")
        r = self.start("--print", conf)
        if os.geteuid() == 0:
            self.assertEqual(r.stdout, BINARY + " -p 1 -u memcache\n")
            self.env["MEMCACHED_DEFAULT_USER"] = "nobody"
            self.assertEqual(self.start("--print", conf).stdout, BINARY + " -p 1 -u nobody\n")
        else:
            self.assertEqual(r.stdout, BINARY + " -p 1\n")

    def test_missing_conf_means_no_options(self):
        r = self.start("--print", os.path.join(self.dir, "absent.conf"))
        expected = BINARY + (" -u memcache" if os.geteuid() == 0 else "")
        self.assertEqual(r.stdout, expected + "\n")

    def conf_for(self, port, extra=""):
        return self.write("memcached.conf", "-d\nlogfile %s\n-p %d\n-l 127.0.0.1\n-U 0\n-t 2\n%s\n%s"
                          % (os.path.join(self.dir, "log"), port, " ".join(u.user_args()),
                             extra))

    def test_detached_start_and_stop(self):
        port = u.free_port()
        conf = self.conf_for(port, "-vv\n")
        pidfile = os.path.join(self.dir, "run", "sub", "memcached.pid")
        self.addCleanup(u.stop_by_port, port, BINARY)  # if the pid file never appears
        self.start(conf, pidfile)
        pid = u.read_pid(pidfile)
        self.assertIsNotNone(pid)
        self.pids.append(pid)
        self.assertTrue(u.alive(pid))
        self.assertEqual(os.getsid(pid), pid, "the daemon should lead its own session")
        self.assertTrue(u.wait_until(lambda: u.answers(port)))
        self.assertIn("STAT pid %d\r\n" % pid, u.chat(port, b"stats\r\nquit\r\n").decode())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
        self.assertNotIn(b"-d", argv)  # detached by the script, not by -d
        # Output goes to the logfile (-vv prints the commands).
        self.assertTrue(u.wait_until(lambda: os.path.getsize(os.path.join(self.dir, "log")) > 0))
        # A second start finds it running and leaves it alone.
        r = self.start(conf, pidfile)
        self.assertIn("already running", r.stderr)
        self.assertEqual(u.read_pid(pidfile), pid)
        u.kill_hard(pid)
        self.assertFalse(u.alive(pid))
        self.assertFalse(u.answers(port))

    def test_failed_start_is_reported(self):
        with u.socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            conf = self.conf_for(port)
            pidfile = os.path.join(self.dir, "memcached.pid")
            self.addCleanup(u.stop_by_port, port, BINARY)  # if a daemon started after all
            r = self.start(conf, pidfile, expect=1)
            self.assertIn("exited at start-up with status 71", r.stderr)
            self.assertFalse(os.path.exists(pidfile))

    def test_foreground_execs_the_daemon(self):
        port = u.free_port()
        conf = self.conf_for(port)
        proc = subprocess.Popen(["/bin/bash", START, "--foreground", conf], env=self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.pids.append(proc.pid)
        try:
            self.assertTrue(u.wait_until(lambda: u.answers(port)))
            # exec: the script's process is the daemon itself (what systemd supervises).
            self.assertIn("STAT pid %d\r\n" % proc.pid,
                          u.chat(port, b"stats\r\nquit\r\n").decode())
        finally:
            proc.terminate()
            proc.wait(timeout=u.DEADLINE)

    def test_flagfile_example_starts(self):
        port = u.free_port()
        flags = os.path.join(SOURCE, "conf", "mcd.flags")
        proc = subprocess.Popen([BINARY, "--flagfile=" + flags, "--port=%d" % port, "-U", "0"]
                                + u.user_args(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pids.append(proc.pid)
        try:
            self.assertTrue(u.wait_until(lambda: u.answers(port)), "flagfile start failed")
            settings = u.chat(port, b"stats settings\r\nquit\r\n").decode()
            self.assertIn("STAT tcpport %d\r\n" % port, settings)  # command line wins
            self.assertIn("STAT idle_timeout 600\r\n", settings)  # from the file
            self.assertIn("STAT item_size_max 1048576\r\n", settings)
        finally:
            proc.terminate()
            proc.wait(timeout=u.DEADLINE)

    def test_shipped_conf_parses(self):
        # The shipped /etc/memcached.conf gives exactly Debian's effective options.
        r = self.start("--print", os.path.join(SOURCE, "conf", "memcached.conf"))
        self.assertEqual(r.stdout, BINARY + " -m 64 -p 11211 -u memcache -l 127.0.0.1 "
                         "-P /var/run/memcached/memcached.pid\n")
        self.assertEqual(r.stderr, "")
        # And the daemon accepts that command line (-V parses it all, then exits).
        argv = r.stdout.split()[1:] + ["-V"]
        v = u.run([BINARY] + argv)
        self.assertEqual(v.returncode, 0, v.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
