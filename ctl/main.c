/* smimectl: the administrator's tool. Commands arrive with the
 * capabilities they manage (store, CA, directory, policy); this version
 * checks the configuration and reports versions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <smx/cfg.h>
#include <smx/directory.h>
#include <smx/smime.h>
#include <smx/store.h>

#define DEFAULT_CONFIG "/etc/smime-milter/smime-milter.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: smimectl [-c FILE] COMMAND\n"
		"       smimectl -V\n"
		"commands:\n"
		"  check      validate the configuration file\n"
		"  version    print versions of smimectl and its libraries\n");
}

static int cmd_version(void)
{
	char a[160], b[96], c[96];
	printf("smimectl %s\n  %s\n  %s\n  %s\n", SMX_VERSION,
	       smime_library_versions(a, sizeof(a)),
	       store_library_versions(b, sizeof(b)),
	       directory_library_version(c, sizeof(c)));
	return 0;
}

static int cmd_check(const char *path)
{
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(path, &errors);
	for (size_t i = 0; i < errors.count; i++)
		fprintf(stderr, "%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	if (cfg == NULL)
		return 1;
	printf("%s: configuration OK\n", path);
	cfg_unref(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = DEFAULT_CONFIG;
	int ch;
	while ((ch = getopt(argc, argv, "+c:Vh")) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'V': return cmd_version();
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *cmd = argv[optind];
	if (strcmp(cmd, "version") == 0)
		return cmd_version();
	if (strcmp(cmd, "check") == 0)
		return cmd_check(config);
	fprintf(stderr, "smimectl: unknown command '%s'\n", cmd);
	usage(stderr);
	return 1;
}
