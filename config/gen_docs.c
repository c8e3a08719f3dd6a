/* SPDX-License-Identifier: Apache-2.0 */
/* omega-config-docs: writes docs/configuration.md (the generated configuration reference)
 * to standard output. Built on request only; the config test checks the committed file. */
#include <stdio.h>

#include "omega/config.h"

int main(void)
{
    if (omega_config_write_markdown(stdout) != 0 || fflush(stdout) != 0) {
        perror("omega-config-docs");
        return 1;
    }
    return 0;
}
