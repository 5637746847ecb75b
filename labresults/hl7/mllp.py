"""MLLP framing (HL7's minimal lower layer protocol): <VT> message <FS><CR>."""

START = b"\x0b"
END = b"\x1c\x0d"


def frame(message: bytes) -> bytes:
    """Wrap one message for the wire."""
    return START + message + END


class Deframer:
    """Collect bytes from a socket and give back whole messages, however the reads split them."""

    def __init__(self, max_size: int = 10 * 1024 * 1024):
        self.buffer = bytearray()
        self.max_size = max_size

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the messages completed by them."""
        self.buffer += data
        if len(self.buffer) > self.max_size:
            self.buffer.clear()
            raise ValueError("MLLP message larger than the limit")
        messages: list[bytes] = []
        while True:
            start = self.buffer.find(START)
            if start == -1:
                self.buffer.clear()
                return messages
            end = self.buffer.find(b"\x1c", start + 1)
            if end == -1:
                del self.buffer[:start]
                return messages
            messages.append(bytes(self.buffer[start + 1 : end]))
            # The trailing CR after FS is optional in practice.
            cut = end + 2 if self.buffer[end + 1 : end + 2] == b"\r" else end + 1
            del self.buffer[:cut]
