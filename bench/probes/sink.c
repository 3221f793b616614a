/*
 * The reading end of bench/probes/socket-ceiling: connect to 127.0.0.1:PORT and
 * receive into one 1 MiB buffer until the peer closes, busy-polling (MSG_DONTWAIT in
 * a loop) like nvmetcp_perf --poll, so the reader never waits in the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sink PORT\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("sink: connect");
		return 1;
	}
	static char buf[1 << 20];
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			perror("sink: recv");
			return 1;
		}
	}
}
