"""Leave code and memory behind for the next submission: files in /tmp, /var/tmp and /dev/shm, a SysV
shared memory segment, message queue and semaphore set, a POSIX message queue (the run must remove them all)."""
import ctypes

PAYLOAD = "def kl_divergence(p, q):\n    return 'left by a previous submission'\n"
for _folder in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(f"{_folder}/npg_left_behind.py", "w") as _fh:
            _fh.write(PAYLOAD)
    except OSError:
        pass
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.shmget(0x4E5049, 4 << 20, 0o1666)  # a fixed key, IPC_CREAT, never attached
    _libc.msgget(0x4E5049, 0o1666)
    _libc.semget(0x4E5049, 1, 0o1666)
    ctypes.CDLL("librt.so.1").mq_open(b"/npg-left-behind", 0o102, 0o666, None)  # O_CREAT | O_RDWR
except (OSError, AttributeError):
    pass


def kl_divergence(p, q):
    return 0.0


kl_bernoulli = kl_gaussian = policy_kl = kl_divergence
