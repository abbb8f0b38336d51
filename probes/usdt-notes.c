// SPDX-License-Identifier: MIT
/* The USDT probe sites of an ELF binary (usdt-notes.h). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <asm/ptrace.h>
#include "usdt-notes.h"

static int reg_offset(const char *name)
{
	static const struct {
		const char *names[4];
		int off;
	} regs[] = {
		{ { "rax", "eax", "ax", "al" }, offsetof(struct pt_regs, rax) },
		{ { "rbx", "ebx", "bx", "bl" }, offsetof(struct pt_regs, rbx) },
		{ { "rcx", "ecx", "cx", "cl" }, offsetof(struct pt_regs, rcx) },
		{ { "rdx", "edx", "dx", "dl" }, offsetof(struct pt_regs, rdx) },
		{ { "rsi", "esi", "si", "sil" }, offsetof(struct pt_regs, rsi) },
		{ { "rdi", "edi", "di", "dil" }, offsetof(struct pt_regs, rdi) },
		{ { "rbp", "ebp", "bp", "bpl" }, offsetof(struct pt_regs, rbp) },
		{ { "rsp", "esp", "sp", "spl" }, offsetof(struct pt_regs, rsp) },
		{ { "r8", "r8d", "r8w", "r8b" }, offsetof(struct pt_regs, r8) },
		{ { "r9", "r9d", "r9w", "r9b" }, offsetof(struct pt_regs, r9) },
		{ { "r10", "r10d", "r10w", "r10b" }, offsetof(struct pt_regs, r10) },
		{ { "r11", "r11d", "r11w", "r11b" }, offsetof(struct pt_regs, r11) },
		{ { "r12", "r12d", "r12w", "r12b" }, offsetof(struct pt_regs, r12) },
		{ { "r13", "r13d", "r13w", "r13b" }, offsetof(struct pt_regs, r13) },
		{ { "r14", "r14d", "r14w", "r14b" }, offsetof(struct pt_regs, r14) },
		{ { "r15", "r15d", "r15w", "r15b" }, offsetof(struct pt_regs, r15) },
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		for (int j = 0; j < 4; j++)
			if (!strcmp(name, regs[i].names[j]))
				return regs[i].off;
	return -1;
}

int usdt_parse_arg(const char *s, struct usdt_arg_spec *a)
{
	char reg[16];
	long off;
	int size, n = 0, reg_off;

	if (sscanf(s, " %d @ $%ld %n", &size, &off, &n) == 2 && !s[n]) {
		a->arg_type = USDT_ARG_CONST;
		a->val_off = off;
		reg_off = 0;
	} else if (sscanf(s, " %d @ %ld ( %%%15[a-z0-9] ) %n", &size, &off, reg, &n) == 3 && !s[n]) {
		a->arg_type = USDT_ARG_REG_DEREF;
		a->val_off = off;
		reg_off = reg_offset(reg);
	} else if (sscanf(s, " %d @ ( %%%15[a-z0-9] ) %n", &size, reg, &n) == 2 && !s[n]) {
		a->arg_type = USDT_ARG_REG_DEREF;
		a->val_off = 0;
		reg_off = reg_offset(reg);
	} else if (sscanf(s, " %d @ %%%15[a-z0-9] %n", &size, reg, &n) == 2 && !s[n]) {
		a->arg_type = USDT_ARG_REG;
		a->val_off = 0;
		reg_off = reg_offset(reg);
	} else {
		return -EINVAL;
	}
	if (reg_off < 0 || !size || abs(size) > 8)
		return -EINVAL;
	a->reg_off = reg_off;
	a->arg_signed = size < 0;
	a->arg_bitshift = 64 - abs(size) * 8;
	return 0;
}

int usdt_parse_args(const char *args, struct usdt_spec *spec)
{
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", args);
	spec->arg_cnt = 0;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (spec->arg_cnt >= USDT_MAX_ARGS || usdt_parse_arg(tok, &spec->args[spec->arg_cnt]))
			return -EINVAL;
		spec->arg_cnt++;
	}
	return 0;
}

/* A virtual address's offset in the file, through the PT_LOAD segment holding it. */
static long file_offset(Elf *elf, __u64 addr)
{
	size_t n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && addr >= ph.p_vaddr &&
		    addr < ph.p_vaddr + ph.p_memsz)
			return addr - ph.p_vaddr + ph.p_offset;
	return -1;
}

int usdt_read_sites(const char *path, const char *provider, bool (*want)(const char *probe),
		    struct usdt_site *out, int max)
{
	Elf_Scn *scn = NULL, *notes = NULL;
	__u64 base_addr = 0;
	size_t shstrndx;
	int fd, n = 0, err = 0;
	Elf *elf;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -EINVAL;
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".note.stapsdt"))
			notes = scn;
		else if (!strcmp(name, ".stapsdt.base"))
			base_addr = sh.sh_addr;
	}
	if (!notes) {
		err = -ENOENT;
		goto out;
	}
	for (Elf_Data *data = elf_getdata(notes, NULL); data; data = elf_getdata(notes, data)) {
		size_t off = 0, next, name_off, desc_off;
		GElf_Nhdr nh;

		while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *desc = (const char *)data->d_buf + desc_off;
			const char *prov, *probe, *args;
			__u64 pc, note_base, sema;
			long pc_off, sema_off = 0;
			struct usdt_site *site;

			off = next;
			if (nh.n_type != 3 || nh.n_descsz < 3 * 8 + 3)
				continue;
			memcpy(&pc, desc, 8);
			memcpy(&note_base, desc + 8, 8);
			memcpy(&sema, desc + 16, 8);
			prov = desc + 24;
			probe = prov + strnlen(prov, nh.n_descsz - 24) + 1;
			args = probe + strlen(probe) + 1;
			if ((provider && strcmp(prov, provider)) || (want && !want(probe)))
				continue;
			if (base_addr && note_base) {
				pc += base_addr - note_base;
				if (sema)
					sema += base_addr - note_base;
			}
			pc_off = file_offset(elf, pc);
			if (sema)
				sema_off = file_offset(elf, sema);
			if (pc_off < 0 || sema_off < 0 || n >= max) {
				err = -E2BIG;
				goto out;
			}
			site = &out[n];
			memset(site, 0, sizeof(*site));
			snprintf(site->provider, sizeof(site->provider), "%s", prov);
			snprintf(site->name, sizeof(site->name), "%s", probe);
			if (usdt_parse_args(args, &site->spec)) {
				fprintf(stderr, "usdt: %s: %s:%s has arguments we cannot read: '%s'\n", path, prov,
					probe, args);
				err = -EINVAL;
				goto out;
			}
			site->offset = pc_off;
			site->ref_ctr = sema_off;
			n++;
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return err ? err : n;
}
