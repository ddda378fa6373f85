#!/usr/bin/python3
"""A FUSE filesystem that loses what was not synced, for tests/power_loss.rs.

Usage: lossyfs.py BACKING MOUNTPOINT [direct_io]

With `direct_io` the mount refuses shared mmap, as a router's JFFS2 does,
so the server uses a rollback journal there instead of WAL.

Writes stay in this process's memory until the file is fsync'ed; then the
file's contents go to BACKING and are fsync'ed there. SIGUSR1 is the power
cut: every unsynced write is dropped and from then on every call fails with
EIO. No `lock` operation: the kernel keeps POSIX locks itself, as on a
local disk. Names (create, unlink, rename, truncate) reach BACKING at once, as a
journaling filesystem's metadata would after a crash: the test is about
data that was acknowledged but never synced.

The kernel has no dm-flakey or dm-log-writes here (no device-mapper at
all), so this stands in for them.
"""

import errno
import os
import signal
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations


class Lossy(Operations):
    def __init__(self, backing):
        self.backing = backing
        self.mutex = threading.Lock()
        # path -> bytearray of the file's whole contents, not yet synced
        self.dirty = {}
        self.cut = False
        signal.signal(signal.SIGUSR1, self.power_cut)

    def power_cut(self, *_):
        with self.mutex:
            self.dirty.clear()
            self.cut = True

    def real(self, path):
        return os.path.join(self.backing, path.lstrip("/"))

    def check(self):
        if self.cut:
            raise FuseOSError(errno.EIO)

    def contents(self, path):
        data = self.dirty.get(path)
        if data is None:
            with open(self.real(path), "rb") as f:
                data = bytearray(f.read())
        return data

    # Names and attributes

    def getattr(self, path, fh=None):
        self.check()
        st = os.lstat(self.real(path))
        attrs = {k: getattr(st, k) for k in (
            "st_mode", "st_nlink", "st_uid", "st_gid", "st_atime", "st_mtime", "st_ctime")}
        with self.mutex:
            data = self.dirty.get(path)
            attrs["st_size"] = len(data) if data is not None else st.st_size
        return attrs

    def readdir(self, path, fh):
        self.check()
        return [".", ".."] + os.listdir(self.real(path))

    def access(self, path, mode):
        self.check()
        if not os.access(self.real(path), mode):
            raise FuseOSError(errno.EACCES)

    def mkdir(self, path, mode):
        self.check()
        os.mkdir(self.real(path), mode)

    def rmdir(self, path):
        self.check()
        os.rmdir(self.real(path))

    def chmod(self, path, mode):
        self.check()
        os.chmod(self.real(path), mode)

    def chown(self, path, uid, gid):
        self.check()
        os.chown(self.real(path), uid, gid)

    def utimens(self, path, times=None):
        self.check()
        os.utime(self.real(path), times)

    def statfs(self, path):
        st = os.statvfs(self.real(path))
        return {k: getattr(st, k) for k in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree",
            "f_files", "f_flag", "f_frsize", "f_namemax")}

    def unlink(self, path):
        self.check()
        with self.mutex:
            self.dirty.pop(path, None)
        os.unlink(self.real(path))

    def rename(self, old, new):
        self.check()
        with self.mutex:
            if old in self.dirty:
                self.dirty[new] = self.dirty.pop(old)
        os.rename(self.real(old), self.real(new))

    # Contents

    def create(self, path, mode, fi=None):
        self.check()
        os.close(os.open(self.real(path), os.O_WRONLY | os.O_CREAT, mode))
        return 0

    def open(self, path, flags):
        self.check()
        if not os.path.exists(self.real(path)):
            raise FuseOSError(errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        self.check()
        with self.mutex:
            return bytes(self.contents(path)[offset:offset + size])

    def write(self, path, data, offset, fh):
        self.check()
        with self.mutex:
            buf = self.contents(path)
            if len(buf) < offset:
                buf.extend(b"\0" * (offset - len(buf)))
            buf[offset:offset + len(data)] = data
            self.dirty[path] = buf
        return len(data)

    def truncate(self, path, length, fh=None):
        self.check()
        with self.mutex:
            buf = self.contents(path)
            del buf[length:]
            buf.extend(b"\0" * (length - len(buf)))
            self.dirty[path] = buf

    def fsync(self, path, datasync, fh):
        self.check()
        with self.mutex:
            data = self.dirty.pop(path, None)
            if data is None:
                return 0
            with open(self.real(path), "r+b") as f:
                f.write(data)
                f.truncate(len(data))
                f.flush()
                os.fsync(f.fileno())
        return 0

    def flush(self, path, fh):
        self.check()
        return 0

    def release(self, path, fh):
        return 0


if __name__ == "__main__":
    options = {"direct_io": True} if "direct_io" in sys.argv[3:] else {}
    FUSE(Lossy(sys.argv[1]), sys.argv[2], foreground=True, nothreads=True, **options)
