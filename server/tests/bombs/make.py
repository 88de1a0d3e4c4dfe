#!/usr/bin/env python3
"""Writes the hostile workbooks the import tests upload (run from this folder).

dimension.xlsx   1.5 KB: a sheet that claims A1:XFD1048576 and has cells there
tall.xlsx        a sheet with cells A1 and Z200000 only
zipbomb.xlsx     a sheet whose XML inflates to 100 MB (whitespace)
lying.xlsx       a correct two-row sheet that claims A1:XFD1048576
"""
import zipfile

CT = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WB = """<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WBRELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def cell(ref, text):
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write(name, sheet_parts):
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", WBRELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for part in sheet_parts:
                f.write(part.encode())


write("dimension.xlsx", [HEAD, '<dimension ref="A1:XFD1048576"/><sheetData>',
                         '<row r="1">' + cell("A1", "客户名称") + "</row>",
                         '<row r="1048576">' + cell("XFD1048576", "x") + "</row>",
                         "</sheetData></worksheet>"])
write("tall.xlsx", [HEAD, '<dimension ref="A1:Z200000"/><sheetData>',
                    '<row r="1">' + cell("A1", "客户名称") + "</row>",
                    '<row r="200000">' + cell("Z200000", "x") + "</row>",
                    "</sheetData></worksheet>"])
MB = " " * (1024 * 1024)
write("zipbomb.xlsx", [HEAD, "<sheetData>"] + [MB] * 100 + ["</sheetData></worksheet>"])
write("lying.xlsx", [HEAD, '<dimension ref="A1:XFD1048576"/><sheetData>',
                     '<row r="1">' + cell("A1", "客户名称") + cell("B1", "客户经理") + "</row>",
                     '<row r="2">' + cell("A2", "甲公司") + cell("B2", "m1") + "</row>",
                     "</sheetData></worksheet>"])
