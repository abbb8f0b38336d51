import { collectDoctorReport } from '../../lab/doctor/collect-doctor-report.ts';
import { formatDoctorReport } from '../../lab/doctor/format-doctor-report.ts';
import type { Invocation } from '../parse-args.ts';

/** `lab doctor [--json]`: exit status 0 when nothing stops tracing here, 1 otherwise. */
export async function run(inv: Invocation): Promise<number> {
  const report = await collectDoctorReport();
  process.stdout.write((inv.options.json ? JSON.stringify(report) : formatDoctorReport(report)) + '\n');
  return report.problems.length === 0 ? 0 : 1;
}
