"""The Debian package and the install rules, from the build tree this test runs in.

    test_deb.py SOURCE_DIR BUILD_DIR BINARY

- cmake --install into a temporary prefix: every file in its place, and the init script, the
  unit and start-memcached rewritten with that prefix's paths.
- cpack -G DEB (packages what is built, builds nothing): control fields (mcd, Provides,
  Conflicts and Replaces memcached, Depends adduser), maintainer scripts and conffiles, the
  files (binary, unit, init script, conf, man page, start-memcached) with /usr paths, and the
  packaged binary runs (-V).
Skipped (77) when cpack, dpkg-deb or dpkg-shlibdeps is missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import pkg_util as u

SOURCE, BUILD, BINARY = sys.argv.pop(1), sys.argv.pop(1), os.path.abspath(sys.argv.pop(1))
CMAKE = os.environ.get("MCD_CMAKE", "cmake")
CPACK = os.environ.get("MCD_CPACK", "cpack")

missing = [t for t in (CMAKE, CPACK, "dpkg-deb", "dpkg-shlibdeps") if shutil.which(t) is None]
if missing:
    print("SKIP: not installed: " + ", ".join(missing))
    sys.exit(77)


def read(path):
    with open(path) as f:
        return f.read()


class InstallTest(unittest.TestCase):
    def test_install_to_a_prefix(self):
        with tempfile.TemporaryDirectory(prefix="mcd-install-") as prefix:
            r = u.run([CMAKE, "--install", BUILD, "--prefix", prefix], timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            for rel in ("bin/memcached", "share/man/man1/memcached.1",
                        "share/memcached/scripts/start-memcached", "etc/memcached.conf",
                        "etc/default/memcached", "etc/init.d/memcached",
                        "lib/systemd/system/memcached.service",
                        "share/doc/mcd/examples/memcached.sysconfig",
                        "share/doc/mcd/examples/mcd.flags", "share/doc/mcd/operations.md"):
                self.assertTrue(os.path.isfile(os.path.join(prefix, rel)), rel)
            for rel in ("bin/memcached", "etc/init.d/memcached",
                        "share/memcached/scripts/start-memcached"):
                self.assertTrue(os.access(os.path.join(prefix, rel), os.X_OK), rel)
            unit = read(os.path.join(prefix, "lib/systemd/system/memcached.service"))
            self.assertIn("ExecStart=%s/share/memcached/scripts/start-memcached --foreground "
                          "%s/etc/memcached.conf\n" % (prefix, prefix), unit)
            init = read(os.path.join(prefix, "etc/init.d/memcached"))
            self.assertIn('DAEMON="${MEMCACHED:-%s/bin/memcached}"' % prefix, init)
            self.assertIn('CONF="${MEMCACHED_CONF:-%s/etc/memcached.conf}"' % prefix, init)
            # The installed start-memcached finds the installed binary and conf by itself.
            r = u.run([os.path.join(prefix, "share/memcached/scripts/start-memcached"),
                       "--print"], env={"PATH": "/usr/bin:/bin"})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith("%s/bin/memcached -m 64 -p 11211 " % prefix),
                            r.stdout)
            v = u.run([os.path.join(prefix, "bin/memcached"), "-V"])
            self.assertTrue(v.stdout.startswith("memcached 1.6.18"), v.stdout)


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mcd-deb-")
        out = os.path.join(cls.tmp.name, "out")
        r = u.run([CPACK, "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                   "-B", out], timeout=240)
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(out, debs[0])
        cls.root = os.path.join(cls.tmp.name, "root")
        cls.control = os.path.join(cls.tmp.name, "control")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True, timeout=60)
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def field(self, name):
        return u.run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def test_name_and_file_name(self):
        self.assertEqual(self.field("Package"), "mcd")
        self.assertRegex(os.path.basename(self.deb), r"^mcd_[0-9.]+_[a-z0-9]+\.deb$")

    def test_replaces_memcached(self):
        for name in ("Provides", "Conflicts", "Replaces"):
            self.assertIn("memcached", [x.strip() for x in self.field(name).split(",")], name)
        depends = self.field("Depends")
        self.assertIn("adduser", depends)
        self.assertIn("libevent", depends)  # from dpkg-shlibdeps

    def test_contents(self):
        listing = u.run(["dpkg-deb", "-c", self.deb]).stdout
        paths = {line.split()[-1] for line in listing.splitlines()}
        for p in ("./usr/bin/memcached", "./lib/systemd/system/memcached.service",
                  "./etc/memcached.conf", "./etc/default/memcached", "./etc/init.d/memcached",
                  "./usr/share/man/man1/memcached.1",
                  "./usr/share/memcached/scripts/start-memcached",
                  "./usr/share/doc/mcd/examples/memcached.sysconfig"):
            self.assertIn(p, paths)
        # Nothing outside the standard places (e.g. the build tree or the staging directory).
        for p in paths:
            self.assertRegex(p, r"^\./(usr|etc|lib)(/|$)", p)

    def test_maintainer_scripts_and_conffiles(self):
        info = u.run(["dpkg-deb", "-I", self.deb]).stdout
        for script in ("postinst", "prerm", "postrm", "conffiles"):
            self.assertIn(" " + script, info)
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            self.assertEqual(u.run(["sh", "-n", path]).returncode, 0, script)
        self.assertEqual(read(os.path.join(self.control, "conffiles")).split(),
                         ["/etc/memcached.conf", "/etc/default/memcached",
                          "/etc/init.d/memcached"])
        postinst = read(os.path.join(self.control, "postinst"))
        self.assertIn("adduser --system", postinst)
        self.assertIn("/run/systemd/system", postinst)  # starts only under a running systemd

    def test_packaged_files_use_usr_paths(self):
        unit = read(os.path.join(self.root, "lib/systemd/system/memcached.service"))
        self.assertIn("ExecStart=/usr/share/memcached/scripts/start-memcached --foreground "
                      "/etc/memcached.conf\n", unit)
        init = read(os.path.join(self.root, "etc/init.d/memcached"))
        self.assertIn('DAEMON="${MEMCACHED:-/usr/bin/memcached}"', init)
        self.assertEqual(read(os.path.join(self.root, "etc/memcached.conf")),
                         read(os.path.join(SOURCE, "conf/memcached.conf")))

    def test_packaged_binary_runs(self):
        r = u.run([os.path.join(self.root, "usr/bin/memcached"), "-V"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("memcached 1.6.18-mcd-"), r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
