/* vipd - placeholder main until the daemon module lands. */
#include <stdio.h>
int main(void)
{
	printf("vipd %s\n", VIPD_VERSION);
	return 0;
}
